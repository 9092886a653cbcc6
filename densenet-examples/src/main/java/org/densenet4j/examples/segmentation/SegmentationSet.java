package org.densenet4j.examples.segmentation;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.densenet4j.examples.FashionMnist;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A semantic segmentation set made here from Fashion-MNIST: square grayscale scenes of 1 to 3
 * Fashion-MNIST items pasted at random places onto a textured background (smooth noise, stripes,
 * or both), a later item covering an earlier one where they overlap, and a class per pixel:
 * {@value #BACKGROUND} for the background, the item's Fashion-MNIST class + 1 where an item's
 * intensity exceeds {@link #ITEM_THRESHOLD}. Scenes are a function of the items and the seed only.
 *
 * <p>Features are [N, 1, size, size] in [0, 1]; the masks are kept as class indices (one byte a
 * pixel) and made one-hot per batch by {@link #oneHot} ([n, classes, size, size], what an
 * FC-DenseNet's {@code CnnLossLayer} trains against): the one-hot labels of a whole set would take
 * 11 floats a pixel.
 *
 * @param features   the scenes, [N, 1, size, size], values in [0, 1]
 * @param masks      per scene the class of each pixel, row-major
 * @param placements per scene the items pasted, in pasting order
 * @param size       the scenes' height and width
 */
public record SegmentationSet(INDArray features, byte[][] masks, List<List<Placement>> placements, int size) {

    /** The background's class. */
    public static final int BACKGROUND = 0;
    /** The classes: the background, then Fashion-MNIST's ten. */
    public static final List<String> LABELS = labels();
    /** Item pixels of intensity above this (0-255) are the item's; the rest of its square shows the background. */
    public static final int ITEM_THRESHOLD = 50;
    /** The side of a Fashion-MNIST item. */
    public static final int ITEM_SIZE = 28;
    /** At most this many items a scene. */
    public static final int MAX_ITEMS = 3;

    /**
     * One item pasted into a scene.
     *
     * @param item      its index in the item set
     * @param itemClass its Fashion-MNIST class (0-9); its pixels' class is {@code itemClass + 1}
     * @param top       the row of its square's top left corner
     * @param left      the column of its square's top left corner
     */
    public record Placement(int item, int itemClass, int top, int left) {
    }

    private static List<String> labels() {
        List<String> l = new ArrayList<>();
        l.add("background");
        l.addAll(FashionMnist.LABELS);
        return List.copyOf(l);
    }

    /** The number of classes, the background's included. */
    public static int classes() {
        return LABELS.size();
    }

    /** The number of scenes. */
    public int count() {
        return masks.length;
    }

    /**
     * Generates {@code count} scenes of {@code size x size} from {@code items} (Fashion-MNIST as
     * {@link FashionMnist#load} reads it: [M, 1, 28, 28] of 0-255, one-hot [M, 10] labels).
     *
     * @throws IllegalArgumentException when the scenes cannot hold an item or there is none
     */
    public static SegmentationSet generate(DataSet items, int count, int size, long seed) {
        if (size < ITEM_SIZE) {
            throw new IllegalArgumentException("scenes must be at least " + ITEM_SIZE + " pixels wide, was " + size);
        }
        if (count < 1 || items.numExamples() < 1) {
            throw new IllegalArgumentException("need at least one scene and one item, had " + count + " and "
                    + items.numExamples());
        }
        int m = items.numExamples();
        float[] pixels = items.getFeatures().castTo(DataType.FLOAT).dup('c').data().asFloat();
        int[] itemClasses = items.getLabels().argMax(1).toIntVector();
        int area = size * size;
        float[] scenes = new float[count * area];
        byte[][] masks = new byte[count][];
        List<List<Placement>> placements = new ArrayList<>();
        Random rnd = new Random(seed);
        for (int s = 0; s < count; s++) {
            float[] canvas = Textures.random(size, rnd);
            byte[] mask = new byte[area];
            int k = 1 + rnd.nextInt(MAX_ITEMS);
            List<Placement> pasted = new ArrayList<>();
            for (int i = 0; i < k; i++) {
                int item = rnd.nextInt(m);
                Placement p = new Placement(item, itemClasses[item], rnd.nextInt(size - ITEM_SIZE + 1),
                        rnd.nextInt(size - ITEM_SIZE + 1));
                paste(pixels, item, p, canvas, mask, size);
                pasted.add(p);
            }
            // sensor noise over the whole scene, so neither the items nor the background are clean
            for (int i = 0; i < area; i++) {
                canvas[i] = Math.min(1f, Math.max(0f, canvas[i] + (float) (rnd.nextGaussian() * 0.03)));
            }
            System.arraycopy(canvas, 0, scenes, s * area, area);
            masks[s] = mask;
            placements.add(List.copyOf(pasted));
        }
        INDArray features = Nd4j.create(scenes, new long[] {count, 1, size, size}, 'c');
        return new SegmentationSet(features, masks, List.copyOf(placements), size);
    }

    private static void paste(float[] pixels, int item, Placement p, float[] canvas, byte[] mask, int size) {
        int base = item * ITEM_SIZE * ITEM_SIZE;
        for (int r = 0; r < ITEM_SIZE; r++) {
            for (int c = 0; c < ITEM_SIZE; c++) {
                float v = pixels[base + r * ITEM_SIZE + c];
                if (v > ITEM_THRESHOLD) {
                    int at = (p.top() + r) * size + p.left() + c;
                    canvas[at] = v / 255f;
                    mask[at] = (byte) (p.itemClass() + 1);
                }
            }
        }
    }

    /** The scenes at {@code indices}, [n, 1, size, size]. */
    public INDArray features(long... indices) {
        return features.get(org.nd4j.linalg.indexing.NDArrayIndex.indices(indices)).dup('c');
    }

    /** One-hot labels of the scenes at {@code indices}: [n, classes, size, size], 1 at each pixel's class. */
    public INDArray oneHot(long... indices) {
        int classes = classes();
        int area = size * size;
        float[] y = new float[indices.length * classes * area];
        for (int n = 0; n < indices.length; n++) {
            byte[] mask = masks[(int) indices[n]];
            for (int i = 0; i < area; i++) {
                y[(n * classes + mask[i]) * area + i] = 1f;
            }
        }
        return Nd4j.create(y, new long[] {indices.length, classes, size, size}, 'c');
    }

    /** How many pixels of the whole set are of each class. */
    public long[] classCounts() {
        long[] counts = new long[classes()];
        for (byte[] mask : masks) {
            for (byte b : mask) {
                counts[b]++;
            }
        }
        return counts;
    }
}
