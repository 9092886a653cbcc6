package org.densenet4j.examples.segmentation;

import java.util.Random;

/**
 * The backgrounds of {@link SegmentationSet}'s scenes: smooth value noise (random values on a
 * coarse grid, interpolated bilinearly), stripes (a sine wave at a random angle, period and phase),
 * or the mean of both, stretched to a random range of gray so that neither brightness nor a flat
 * background gives the items away.
 */
final class Textures {

    private Textures() {
    }

    /** A {@code size x size} texture, row-major, values in [0, 1]. */
    static float[] random(int size, Random rnd) {
        int kind = rnd.nextInt(3);
        float[] t = kind == 1 ? stripes(size, rnd) : noise(size, rnd);
        if (kind == 2) {
            float[] s = stripes(size, rnd);
            for (int i = 0; i < t.length; i++) {
                t[i] = (t[i] + s[i]) / 2;
            }
        }
        float low = 0.6f * rnd.nextFloat();
        float range = 0.15f + (0.95f - low - 0.15f) * rnd.nextFloat();
        float min = Float.MAX_VALUE;
        float max = -Float.MAX_VALUE;
        for (float v : t) {
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        float span = Math.max(1e-6f, max - min);
        for (int i = 0; i < t.length; i++) {
            t[i] = low + range * (t[i] - min) / span;
        }
        return t;
    }

    private static float[] noise(int size, Random rnd) {
        int cells = 2 + rnd.nextInt(7); // 2-8 cells across: blobs of a quarter to an eighth of the scene
        float[] grid = new float[(cells + 1) * (cells + 1)];
        for (int i = 0; i < grid.length; i++) {
            grid[i] = rnd.nextFloat();
        }
        float[] t = new float[size * size];
        for (int y = 0; y < size; y++) {
            float gy = (float) y * cells / size;
            int y0 = (int) gy;
            float fy = gy - y0;
            for (int x = 0; x < size; x++) {
                float gx = (float) x * cells / size;
                int x0 = (int) gx;
                float fx = gx - x0;
                int at = y0 * (cells + 1) + x0;
                float top = grid[at] * (1 - fx) + grid[at + 1] * fx;
                float bottom = grid[at + cells + 1] * (1 - fx) + grid[at + cells + 2] * fx;
                t[y * size + x] = top * (1 - fy) + bottom * fy;
            }
        }
        return t;
    }

    private static float[] stripes(int size, Random rnd) {
        double angle = rnd.nextDouble() * Math.PI;
        double period = 4 + rnd.nextDouble() * 16;
        double phase = rnd.nextDouble() * 2 * Math.PI;
        double cos = Math.cos(angle);
        double sin = Math.sin(angle);
        float[] t = new float[size * size];
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                t[y * size + x] = (float) (0.5 + 0.5 * Math.sin(2 * Math.PI * (x * cos + y * sin) / period + phase));
            }
        }
        return t;
    }
}
