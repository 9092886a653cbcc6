package org.densenet4j.io;

import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Image files to NCHW tensors of 0-255 values, in pure Java (ImageIO, with the TwelveMonkeys
 * plugins DataVec brings for CMYK JPEG, TIFF, BMP): a damaged or hostile image is an IOException
 * naming the file, never a native crash. Images are resized (bilinear) to the size asked for; the
 * channel count must match (3 for RGB, 1 for grayscale), as a model trained on one cannot take the
 * other. Colour images come out in RGB order.
 */
public final class Images {

    /** Largest image decoded: 100 megapixels (a decompression bomb is refused before decoding). */
    static final long MAX_PIXELS = 100_000_000L;

    private Images() {
    }

    /**
     * Loads {@code files} as one [N, channels, height, width] float tensor of 0-255 values.
     *
     * @throws IOException naming the file that is missing, unreadable, too large or of the wrong kind
     */
    public static INDArray load(List<Path> files, int height, int width, int channels) throws IOException {
        checkChannels(channels);
        INDArray out = Nd4j.create(DataType.FLOAT, files.size(), channels, height, width);
        for (int i = 0; i < files.size(); i++) {
            float[] plane = planes(read(files.get(i), channels), height, width, channels);
            out.get(org.nd4j.linalg.indexing.NDArrayIndex.point(i)).assign(
                    Nd4j.create(plane, new long[] {channels, height, width}, 'c'));
        }
        return out;
    }

    /**
     * Decodes the encoded image {@code bytes} (a file's content; {@code name} for messages) to
     * [channels, height, width] 0-255 values in row-major order, exactly as {@link #load} does a file.
     *
     * @throws IOException naming {@code name} when the bytes are not an image of the right kind
     */
    public static float[] decode(byte[] bytes, String name, int height, int width, int channels) throws IOException {
        checkChannels(channels);
        try (ImageInputStream in = ImageIO.createImageInputStream(new java.io.ByteArrayInputStream(bytes))) {
            return planes(read(in, name, channels), height, width, channels);
        }
    }

    /**
     * Decoded pixels, as Spark's image data source and OpenCV store them (rows of {@code srcWidth}
     * pixels of {@code srcChannels} bytes: 1 gray, 3 BGR, 4 BGRA), resized as {@link #load} resizes a
     * file's, to [channels, height, width] 0-255 values.
     *
     * @throws IOException naming {@code name} when the pixel data do not match their stated size or
     *                     the model's channels
     */
    public static float[] fromPixels(byte[] data, int srcHeight, int srcWidth, int srcChannels, String name,
                                     int height, int width, int channels) throws IOException {
        checkChannels(channels);
        if (srcHeight <= 0 || srcWidth <= 0 || (long) srcHeight * srcWidth > MAX_PIXELS
                || (srcChannels != 1 && srcChannels != 3 && srcChannels != 4)
                || data == null || data.length != (long) srcHeight * srcWidth * srcChannels) {
            throw new IOException(name + ": not a decoded image (" + srcHeight + "x" + srcWidth + "x" + srcChannels
                    + ", " + (data == null ? "no" : data.length) + " bytes)");
        }
        checkKind(name, srcChannels == 1, channels);
        BufferedImage img = new BufferedImage(srcWidth, srcHeight,
                srcChannels == 1 ? BufferedImage.TYPE_BYTE_GRAY : BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < srcHeight; y++) {
            for (int x = 0; x < srcWidth; x++) {
                int at = (y * srcWidth + x) * srcChannels;
                if (srcChannels == 1) {
                    img.getRaster().setSample(x, y, 0, data[at] & 0xff);
                } else {
                    img.setRGB(x, y, (data[at + 2] & 0xff) << 16 | (data[at + 1] & 0xff) << 8 | (data[at] & 0xff));
                }
            }
        }
        return planes(img, height, width, channels);
    }

    private static void checkChannels(int channels) {
        if (channels != 1 && channels != 3) {
            throw new IllegalArgumentException("channels must be 1 or 3, was " + channels);
        }
    }

    /** The image resized to {@code height x width}, as [channels, height, width] 0-255 values (RGB order). */
    private static float[] planes(BufferedImage src, int height, int width, int channels) {
        BufferedImage img = resize(src, width, height, channels);
        var raster = img.getRaster();
        float[] plane = new float[channels * height * width];
        int hw = height * width;
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int at = y * width + x;
                if (channels == 3) {
                    int rgb = img.getRGB(x, y);
                    plane[at] = (rgb >> 16) & 0xff;
                    plane[hw + at] = (rgb >> 8) & 0xff;
                    plane[2 * hw + at] = rgb & 0xff;
                } else {
                    plane[at] = raster.getSample(x, y, 0);
                }
            }
        }
        return plane;
    }

    /** Decodes one image file after checking its size, and checks its channels against the model's. */
    static BufferedImage read(Path file, int channels) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IOException(file + ": no such file");
        }
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            return read(in, file.toString(), channels);
        }
    }

    /** Decodes one image from {@code in} ({@code name} for messages) after checking its size and channels. */
    private static BufferedImage read(ImageInputStream in, String name, int channels) throws IOException {
        try {
            Iterator<ImageReader> readers = in == null ? null : ImageIO.getImageReaders(in);
            if (readers == null || !readers.hasNext()) {
                throw new IOException(name + ": not an image this tool reads (JPEG, PNG, BMP, GIF, TIFF)");
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                long w = reader.getWidth(0);
                long h = reader.getHeight(0);
                if (w <= 0 || h <= 0 || w * h > MAX_PIXELS) {
                    throw new IOException(name + ": claims " + w + "x" + h + " pixels; at most " + MAX_PIXELS
                            + " pixels are decoded");
                }
                BufferedImage img = reader.read(0);
                checkKind(name, img.getColorModel().getNumColorComponents() == 1, channels);
                return img;
            } finally {
                reader.dispose();
            }
        } catch (IOException e) {
            throw e.getMessage() != null && e.getMessage().startsWith(name) ? e
                    : new IOException(name + ": unreadable or truncated image (" + e.getMessage() + ")", e);
        } catch (RuntimeException | OutOfMemoryError e) {
            throw new IOException(name + ": unreadable or truncated image (" + e + ")", e);
        }
    }

    private static void checkKind(String name, boolean gray, int channels) throws IOException {
        if (gray && channels == 3) {
            throw new IOException(name + ": is a grayscale image; the model takes RGB (3 channels)");
        }
        if (!gray && channels == 1) {
            throw new IOException(name + ": is a colour image; the model takes grayscale (1 channel)");
        }
    }

    /**
     * The image as 8-bit RGB or gray, resized bilinearly to {@code width x height}. Gray stays in
     * the gray colour space: drawing it into an RGB image would apply a gamma curve to the values.
     */
    private static BufferedImage resize(BufferedImage src, int width, int height, int channels) {
        BufferedImage dst = new BufferedImage(width, height,
                channels == 3 ? BufferedImage.TYPE_INT_RGB : BufferedImage.TYPE_BYTE_GRAY);
        Graphics2D g = dst.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
            g.drawImage(src, 0, 0, width, height, null);
        } finally {
            g.dispose();
        }
        return dst;
    }
}
