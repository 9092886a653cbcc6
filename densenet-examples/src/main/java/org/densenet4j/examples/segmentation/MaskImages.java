package org.densenet4j.examples.segmentation;

import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.awt.image.WritableRaster;
import java.io.IOException;
import java.nio.file.Path;

import javax.imageio.ImageIO;

import org.densenet4j.zoo.io.AtomicFile;

/**
 * Class masks as images: an indexed (palette) PNG whose pixel values are the class indices and
 * whose palette gives each class a fixed colour, the background black; and an overlay of those
 * colours on the photo the mask was predicted for.
 */
public final class MaskImages {

    /** The colours (RGB) of classes 0-10: the background, then Fashion-MNIST's ten; later classes repeat them. */
    private static final int[] PALETTE = {
        0x000000, 0xe6194b, 0x3cb44b, 0xffe119, 0x4363d8, 0xf58231,
        0x911eb4, 0x46f0f0, 0xf032e6, 0xbcf60c, 0xfabebe,
    };

    private MaskImages() {
    }

    /** The RGB colour of class {@code c}: fixed, the background's black, no two of the first 11 alike. */
    public static int colour(int c) {
        return c == 0 ? PALETTE[0] : PALETTE[1 + (c - 1) % (PALETTE.length - 1)];
    }

    /**
     * The mask {@code classes} (row-major, {@code height x width}) as a palette image of
     * {@code outHeight x outWidth}, resized by nearest neighbour so every pixel keeps a class.
     */
    public static BufferedImage palette(int[] classes, int height, int width, int outHeight, int outWidth,
            int numClasses) {
        if (numClasses > 256) {
            throw new IllegalArgumentException("a palette PNG holds at most 256 classes, not " + numClasses);
        }
        byte[] r = new byte[numClasses];
        byte[] g = new byte[numClasses];
        byte[] b = new byte[numClasses];
        for (int c = 0; c < numClasses; c++) {
            int rgb = colour(c);
            r[c] = (byte) (rgb >> 16);
            g[c] = (byte) (rgb >> 8);
            b[c] = (byte) rgb;
        }
        int bits = numClasses <= 2 ? 1 : numClasses <= 4 ? 2 : numClasses <= 16 ? 4 : 8;
        // palettes of up to 16 colours are packed (1, 2 or 4 bits a pixel), as PNG's small bit depths are
        BufferedImage img = new BufferedImage(outWidth, outHeight,
                bits < 8 ? BufferedImage.TYPE_BYTE_BINARY : BufferedImage.TYPE_BYTE_INDEXED,
                new IndexColorModel(bits, numClasses, r, g, b));
        WritableRaster raster = img.getRaster();
        for (int y = 0; y < outHeight; y++) {
            int sy = Math.min(height - 1, (int) ((y + 0.5) * height / outHeight));
            for (int x = 0; x < outWidth; x++) {
                int sx = Math.min(width - 1, (int) ((x + 0.5) * width / outWidth));
                raster.setSample(x, y, 0, classes[sy * width + sx]);
            }
        }
        return img;
    }

    /** {@code photo} with the colours of {@code mask}'s classes blended over it, the background left as it is. */
    public static BufferedImage overlay(BufferedImage photo, BufferedImage mask) {
        int w = photo.getWidth();
        int h = photo.getHeight();
        BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int p = photo.getRGB(x, y);
                int c = mask.getRaster().getSample(x, y, 0);
                if (c == 0) {
                    out.setRGB(x, y, p & 0xffffff);
                    continue;
                }
                int m = colour(c);
                int rgb = 0;
                for (int shift = 16; shift >= 0; shift -= 8) {
                    int v = (((p >> shift) & 0xff) + ((m >> shift) & 0xff)) / 2;
                    rgb |= v << shift;
                }
                out.setRGB(x, y, rgb);
            }
        }
        return out;
    }

    /** Writes {@code img} as a PNG, atomically. */
    public static void writePng(Path file, BufferedImage img) throws IOException {
        AtomicFile.write(file, tmp -> {
            if (!ImageIO.write(img, "png", tmp.toFile())) {
                throw new IOException("no PNG writer for this image");
            }
        });
    }
}
