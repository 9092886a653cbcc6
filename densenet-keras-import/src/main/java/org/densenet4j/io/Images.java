package org.densenet4j.io;

import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

import org.densenet4j.zoo.io.ImageTransform;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Image files to NCHW tensors of 0-255 values, in pure Java (ImageIO, with the TwelveMonkeys
 * plugins DataVec brings for CMYK JPEG, TIFF, BMP): a damaged or hostile image is an IOException
 * naming the file, never a native crash. The channel count must match (3 for RGB, 1 for
 * grayscale), as a model trained on one cannot take the other. Colour images come out in RGB order
 * (an alpha channel is dropped, as PIL's {@code convert("RGB")} drops it).
 *
 * <p>Images are brought to the model's input size by the geometry of an {@link ImageTransform}:
 * its resize (shorter side or stretch), interpolation and centre crop, computed as Pillow computes
 * them (see {@link Resampling}), so that torchvision's {@code Resize(256)} + {@code CenterCrop(224)}
 * on a PIL image and {@link #load(List, ImageTransform, int)} give the same pixels. The transform's
 * channel order and normalisation are the next step, {@link ImageTransform#normalize}. The methods
 * that take a height and width stretch the image to it, bilinear without antialiasing
 * ({@link ImageTransform#stretch}).
 */
public final class Images {

    /** Largest image decoded: 100 megapixels (a decompression bomb is refused before decoding). */
    static final long MAX_PIXELS = 100_000_000L;

    private Images() {
    }

    /**
     * Loads {@code files} stretched to {@code height x width} (bilinear, no antialiasing) as one
     * [N, channels, height, width] float tensor of 0-255 values.
     *
     * @throws IOException naming the file that is missing, unreadable, too large or of the wrong kind
     */
    public static INDArray load(List<Path> files, int height, int width, int channels) throws IOException {
        return load(files, stretch(height, width), channels);
    }

    /**
     * Loads {@code files} through the geometry of {@code transform} (resize, interpolation, centre
     * crop) as one [N, channels, height, width] float tensor of 0-255 values, RGB or gray; the
     * transform's normalisation is not applied.
     *
     * @throws IOException naming the file that is missing, unreadable, too large or of the wrong kind
     */
    public static INDArray load(List<Path> files, ImageTransform transform, int channels) throws IOException {
        checkChannels(channels);
        int[] hw = transform.outputSize();
        if (files.isEmpty()) {
            return Nd4j.create(DataType.FLOAT, 0, channels, hw[0], hw[1]);
        }
        int size = channels * hw[0] * hw[1];
        float[] all = new float[files.size() * size];
        for (int i = 0; i < files.size(); i++) {
            float[] plane = apply(pixels(read(files.get(i), channels), channels), transform);
            System.arraycopy(plane, 0, all, i * size, size);
        }
        return Nd4j.create(all, new long[] {files.size(), channels, hw[0], hw[1]}, 'c');
    }

    /**
     * Decodes the encoded image {@code bytes} (a file's content; {@code name} for messages) to
     * [channels, height, width] 0-255 values in row-major order, stretched as
     * {@link #load(List, int, int, int)} stretches a file.
     *
     * @throws IOException naming {@code name} when the bytes are not an image of the right kind
     */
    public static float[] decode(byte[] bytes, String name, int height, int width, int channels) throws IOException {
        return decode(bytes, name, stretch(height, width), channels);
    }

    /**
     * Decodes the encoded image {@code bytes} (a file's content; {@code name} for messages) to
     * [channels, height, width] 0-255 values in row-major order, through {@code transform}'s geometry
     * as {@link #load(List, ImageTransform, int)} does a file.
     *
     * @throws IOException naming {@code name} when the bytes are not an image of the right kind
     */
    public static float[] decode(byte[] bytes, String name, ImageTransform transform, int channels)
            throws IOException {
        checkChannels(channels);
        try (ImageInputStream in = ImageIO.createImageInputStream(new java.io.ByteArrayInputStream(bytes))) {
            return apply(pixels(read(in, name, channels), channels), transform);
        }
    }

    /**
     * Decoded pixels, as Spark's image data source and OpenCV store them (rows of {@code srcWidth}
     * pixels of {@code srcChannels} bytes: 1 gray, 3 BGR, 4 BGRA), stretched as
     * {@link #load(List, int, int, int)} stretches a file's, to [channels, height, width] 0-255 values.
     *
     * @throws IOException naming {@code name} when the pixel data do not match their stated size or
     *                     the model's channels
     */
    public static float[] fromPixels(byte[] data, int srcHeight, int srcWidth, int srcChannels, String name,
                                     int height, int width, int channels) throws IOException {
        return fromPixels(data, srcHeight, srcWidth, srcChannels, name, stretch(height, width), channels);
    }

    /**
     * Decoded pixels, as Spark's image data source and OpenCV store them (rows of {@code srcWidth}
     * pixels of {@code srcChannels} bytes: 1 gray, 3 BGR, 4 BGRA), through {@code transform}'s
     * geometry as {@link #load(List, ImageTransform, int)} does a file's, to [channels, height, width]
     * 0-255 values.
     *
     * @throws IOException naming {@code name} when the pixel data do not match their stated size or
     *                     the model's channels
     */
    public static float[] fromPixels(byte[] data, int srcHeight, int srcWidth, int srcChannels, String name,
                                     ImageTransform transform, int channels) throws IOException {
        checkChannels(channels);
        if (srcHeight <= 0 || srcWidth <= 0 || (long) srcHeight * srcWidth > MAX_PIXELS
                || (srcChannels != 1 && srcChannels != 3 && srcChannels != 4)
                || data == null || data.length != (long) srcHeight * srcWidth * srcChannels) {
            throw new IOException(name + ": not a decoded image (" + srcHeight + "x" + srcWidth + "x" + srcChannels
                    + ", " + (data == null ? "no" : data.length) + " bytes)");
        }
        checkKind(name, srcChannels == 1, channels);
        int n = srcHeight * srcWidth;
        byte[] out = new byte[n * channels];
        if (srcChannels == 1) {
            System.arraycopy(data, 0, out, 0, n);
        } else {
            for (int i = 0; i < n; i++) { // BGR(A) to RGB
                out[3 * i] = data[i * srcChannels + 2];
                out[3 * i + 1] = data[i * srcChannels + 1];
                out[3 * i + 2] = data[i * srcChannels];
            }
        }
        return apply(new Resampling.Pixels(out, srcWidth, srcHeight, channels), transform);
    }

    private static void checkChannels(int channels) {
        if (channels != 1 && channels != 3) {
            throw new IllegalArgumentException("channels must be 1 or 3, was " + channels);
        }
    }

    /** The geometry of the old loader: a bilinear stretch (the normalisation is not used here). */
    private static ImageTransform stretch(int height, int width) {
        return ImageTransform.stretch(height, width, ImageTransform.Normalization.NONE);
    }

    /**
     * {@code image} through the geometry of {@code transform}: resized, centre-cropped (zero-padded
     * where the crop is larger, as torchvision pads), as [bands, height, width] 0-255 values.
     */
    static float[] apply(Resampling.Pixels image, ImageTransform transform) {
        int[] size = transform.resize().outputSize(image.height(), image.width());
        Resampling.Pixels resized = Resampling.resize(image, size[1], size[0], transform.interpolation(),
                transform.antialias());
        int[] out = transform.outputSize();
        int top = transform.crop() == null ? 0 : ImageTransform.Crop.offset(resized.height(), out[0]);
        int left = transform.crop() == null ? 0 : ImageTransform.Crop.offset(resized.width(), out[1]);
        return planes(resized, top, left, out[0], out[1]);
    }

    /** The {@code height x width} window of {@code image} at ({@code top}, {@code left}), zeros outside, as planes. */
    private static float[] planes(Resampling.Pixels image, int top, int left, int height, int width) {
        int bands = image.bands();
        int hw = height * width;
        float[] plane = new float[bands * hw];
        byte[] data = image.data();
        for (int y = 0; y < height; y++) {
            int sy = y + top;
            if (sy < 0 || sy >= image.height()) {
                continue;
            }
            for (int x = 0; x < width; x++) {
                int sx = x + left;
                if (sx < 0 || sx >= image.width()) {
                    continue;
                }
                int at = (sy * image.width() + sx) * bands;
                for (int b = 0; b < bands; b++) {
                    plane[b * hw + y * width + x] = data[at + b] & 0xff;
                }
            }
        }
        return plane;
    }

    /**
     * A decoded image as 8-bit RGB (the alpha channel dropped) or gray. Gray stays in the gray
     * colour space: drawing it into an RGB image would apply a gamma curve to the values.
     */
    static Resampling.Pixels pixels(BufferedImage img, int channels) {
        int w = img.getWidth();
        int h = img.getHeight();
        if (channels == 3) {
            byte[] rgb = new byte[w * h * 3];
            int[] argb = new int[w];
            for (int y = 0; y < h; y++) { // a row at a time: no second full-size copy of a large photo
                img.getRGB(0, y, w, 1, argb, 0, w);
                for (int x = 0, at = 3 * y * w; x < w; x++, at += 3) {
                    rgb[at] = (byte) (argb[x] >> 16);
                    rgb[at + 1] = (byte) (argb[x] >> 8);
                    rgb[at + 2] = (byte) argb[x];
                }
            }
            return new Resampling.Pixels(rgb, w, h, 3);
        }
        BufferedImage gray = img;
        if (img.getType() != BufferedImage.TYPE_BYTE_GRAY) { // 16-bit gray: converted by Java2D, not resized
            gray = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
            Graphics2D g = gray.createGraphics();
            try {
                g.drawImage(img, 0, 0, null);
            } finally {
                g.dispose();
            }
        }
        byte[] values = new byte[w * h];
        gray.getRaster().getDataElements(0, 0, w, h, values);
        return new Resampling.Pixels(values, w, h, 1);
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
}
