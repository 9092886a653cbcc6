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
        if (channels != 1 && channels != 3) {
            throw new IllegalArgumentException("channels must be 1 or 3, was " + channels);
        }
        INDArray out = Nd4j.create(DataType.FLOAT, files.size(), channels, height, width);
        float[] plane = new float[channels * height * width];
        for (int i = 0; i < files.size(); i++) {
            BufferedImage img = resize(read(files.get(i), channels), width, height, channels);
            var raster = img.getRaster();
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
            out.get(org.nd4j.linalg.indexing.NDArrayIndex.point(i)).assign(
                    Nd4j.create(plane, new long[] {channels, height, width}, 'c'));
        }
        return out;
    }

    /** Decodes one image after checking its size, and checks its channels against the model's. */
    static BufferedImage read(Path file, int channels) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IOException(file + ": no such file");
        }
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            Iterator<ImageReader> readers = in == null ? null : ImageIO.getImageReaders(in);
            if (readers == null || !readers.hasNext()) {
                throw new IOException(file + ": not an image this tool reads (JPEG, PNG, BMP, GIF, TIFF)");
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                long w = reader.getWidth(0);
                long h = reader.getHeight(0);
                if (w <= 0 || h <= 0 || w * h > MAX_PIXELS) {
                    throw new IOException(file + ": claims " + w + "x" + h + " pixels; at most " + MAX_PIXELS
                            + " pixels are decoded");
                }
                BufferedImage img = reader.read(0);
                boolean gray = img.getColorModel().getNumColorComponents() == 1;
                if (gray && channels == 3) {
                    throw new IOException(file + ": is a grayscale image; the model takes RGB (3 channels)");
                }
                if (!gray && channels == 1) {
                    throw new IOException(file + ": is a colour image; the model takes grayscale (1 channel)");
                }
                return img;
            } finally {
                reader.dispose();
            }
        } catch (IOException e) {
            throw e.getMessage() != null && e.getMessage().startsWith(file.toString()) ? e
                    : new IOException(file + ": unreadable or truncated image (" + e.getMessage() + ")", e);
        } catch (RuntimeException | OutOfMemoryError e) {
            throw new IOException(file + ": unreadable or truncated image (" + e + ")", e);
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
