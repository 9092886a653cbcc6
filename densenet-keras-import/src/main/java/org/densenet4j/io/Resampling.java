package org.densenet4j.io;

import org.densenet4j.zoo.io.ImageTransform.Interpolation;

/**
 * Resizing of 8-bit images (rows of interleaved bands: 1 gray, 3 RGB) computed as Pillow's
 * {@code Image.resize} computes it, value for value, so that an image resized here is the image
 * torchvision's {@code Resize} gives on a PIL image. Written after Pillow 9.4's
 * {@code src/libImaging/Resample.c} and {@code Geometry.c} (python-pillow/Pillow, tag 9.4.0; the
 * arithmetic is unchanged in later releases):
 *
 * <ul>
 *   <li>BILINEAR and BICUBIC are separable convolutions: for each output pixel the filter is
 *       centred on {@code (x + 0.5) * scale}; when downscaling it is widened by the scale
 *       (antialiasing: its support is {@code support * scale}); the weights of the input pixels it
 *       covers are normalised to sum 1 and rounded to 22-bit fixed point. The horizontal pass runs
 *       first, its result rounded to 8 bits, then the vertical pass.</li>
 *   <li>NEAREST takes, for each output pixel, the input pixel under {@code (x + 0.5) * scale},
 *       the positions accumulated step by step as Pillow's affine scaling does.</li>
 * </ul>
 *
 * <p>Without antialiasing the filter keeps its width when downscaling: bilinear then reads the two
 * nearest pixels, as torch's {@code F.interpolate(mode="bilinear", align_corners=False)} does.
 */
final class Resampling {

    /** Fixed-point precision of the weights: 32 bits less 8 for the value and 2 for overflow, as Pillow's. */
    private static final int PRECISION_BITS = 32 - 8 - 2;

    private Resampling() {
    }

    /** An 8-bit image: {@code height} rows of {@code width} pixels of {@code bands} interleaved bytes. */
    record Pixels(byte[] data, int width, int height, int bands) {
    }

    /** {@code image} resized to {@code width x height}; the same image when it has that size already. */
    static Pixels resize(Pixels image, int width, int height, Interpolation interpolation, boolean antialias) {
        if (image.width() == width && image.height() == height) {
            return image; // Image.resize returns a copy; torchvision's Resize does not even call it
        }
        return switch (interpolation) {
            case NEAREST -> nearest(image, width, height);
            case BILINEAR -> convolve(image, width, height, Filter.BILINEAR, antialias);
            case BICUBIC -> convolve(image, width, height, Filter.BICUBIC, antialias);
        };
    }

    /** A resampling filter: its kernel and its support at scale 1. */
    private enum Filter {
        BILINEAR(1.0) {
            @Override
            double weight(double x) {
                x = Math.abs(x);
                return x < 1.0 ? 1.0 - x : 0.0;
            }
        },
        BICUBIC(2.0) {
            @Override
            double weight(double x) {
                final double a = -0.5; // Keys' cubic convolution, as Pillow's bicubic_filter
                x = Math.abs(x);
                if (x < 1.0) {
                    return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
                }
                if (x < 2.0) {
                    return (((x - 5) * x + 8) * x - 4) * a;
                }
                return 0.0;
            }
        };

        final double support;

        Filter(double support) {
            this.support = support;
        }

        abstract double weight(double x);
    }

    /** The fixed-point weights of one pass: for output pixel i, {@code count[i]} weights from input first[i]. */
    private record Coefficients(int[] first, int[] count, int[] weights, int taps) {
    }

    /** Pillow's {@code precompute_coeffs} then {@code normalize_coeffs_8bpc}, for the box [0, inSize). */
    private static Coefficients coefficients(int inSize, int outSize, Filter filter, boolean antialias) {
        double scale = (double) (float) inSize / outSize;
        double filterScale = antialias && scale > 1.0 ? scale : 1.0;
        double support = filter.support * filterScale;
        int taps = (int) Math.ceil(support) * 2 + 1;
        int[] first = new int[outSize];
        int[] count = new int[outSize];
        int[] weights = new int[outSize * taps];
        double inverse = 1.0 / filterScale;
        double[] k = new double[taps];
        for (int i = 0; i < outSize; i++) {
            double center = (i + 0.5) * scale;
            int min = Math.max(0, (int) (center - support + 0.5));
            int max = Math.min(inSize, (int) (center + support + 0.5)) - min;
            double sum = 0.0;
            for (int x = 0; x < max; x++) {
                k[x] = filter.weight((x + min - center + 0.5) * inverse);
                sum += k[x];
            }
            for (int x = 0; x < max; x++) {
                double w = sum != 0.0 ? k[x] / sum : k[x];
                double fixed = w * (1 << PRECISION_BITS);
                weights[i * taps + x] = (int) (w < 0 ? -0.5 + fixed : 0.5 + fixed);
            }
            first[i] = min;
            count[i] = max;
        }
        return new Coefficients(first, count, weights, taps);
    }

    /** A fixed-point sum back to 8 bits: rounded (the half added up front), clamped to 0-255. */
    private static byte clip8(int sum) {
        int v = sum >> PRECISION_BITS;
        return (byte) (v < 0 ? 0 : Math.min(v, 255));
    }

    /** Pillow's two-pass resampling: horizontal (to 8 bits), then vertical. */
    private static Pixels convolve(Pixels in, int width, int height, Filter filter, boolean antialias) {
        Pixels out = in;
        if (width != in.width()) {
            out = horizontal(out, width, coefficients(in.width(), width, filter, antialias));
        }
        if (height != in.height()) {
            out = vertical(out, height, coefficients(in.height(), height, filter, antialias));
        }
        return out;
    }

    private static Pixels horizontal(Pixels in, int width, Coefficients c) {
        int bands = in.bands();
        byte[] src = in.data();
        byte[] dst = new byte[width * in.height() * bands];
        int half = 1 << (PRECISION_BITS - 1);
        for (int y = 0; y < in.height(); y++) {
            int row = y * in.width() * bands;
            int outRow = y * width * bands;
            for (int x = 0; x < width; x++) {
                int k = x * c.taps();
                int from = row + c.first()[x] * bands;
                for (int b = 0; b < bands; b++) {
                    int sum = half;
                    for (int t = 0; t < c.count()[x]; t++) {
                        sum += (src[from + t * bands + b] & 0xff) * c.weights()[k + t];
                    }
                    dst[outRow + x * bands + b] = clip8(sum);
                }
            }
        }
        return new Pixels(dst, width, in.height(), bands);
    }

    private static Pixels vertical(Pixels in, int height, Coefficients c) {
        int bands = in.bands();
        int rowBytes = in.width() * bands;
        byte[] src = in.data();
        byte[] dst = new byte[rowBytes * height];
        int half = 1 << (PRECISION_BITS - 1);
        for (int y = 0; y < height; y++) {
            int k = y * c.taps();
            int from = c.first()[y] * rowBytes;
            for (int i = 0; i < rowBytes; i++) {
                int sum = half;
                for (int t = 0; t < c.count()[y]; t++) {
                    sum += (src[from + t * rowBytes + i] & 0xff) * c.weights()[k + t];
                }
                dst[y * rowBytes + i] = clip8(sum);
            }
        }
        return new Pixels(dst, in.width(), height, bands);
    }

    /** Pillow's nearest-neighbour scaling ({@code ImagingScaleAffine}): positions accumulated, truncated. */
    private static Pixels nearest(Pixels in, int width, int height) {
        int bands = in.bands();
        int[] columns = positions(in.width(), width);
        int[] rows = positions(in.height(), height);
        byte[] dst = new byte[width * height * bands];
        for (int y = 0; y < height; y++) {
            int row = rows[y] * in.width() * bands;
            for (int x = 0; x < width; x++) {
                System.arraycopy(in.data(), row + columns[x] * bands, dst, (y * width + x) * bands, bands);
            }
        }
        return new Pixels(dst, width, height, bands);
    }

    private static int[] positions(int inSize, int outSize) {
        double step = (double) (float) inSize / outSize;
        double at = step * 0.5;
        int[] p = new int[outSize];
        for (int i = 0; i < outSize; i++) {
            p[i] = Math.min(inSize - 1, (int) at); // at >= 0; never past the end, but rounding could say so
            at += step;
        }
        return p;
    }
}
