package org.densenet4j.examples.segmentation;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;

import org.densenet4j.examples.FashionMnist;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

/** The generated scenes on the Fashion-MNIST samples shipped with the examples (no data set needed). */
class SegmentationSetTest {

    private static DataSet items;
    private static float[] itemPixels;
    private static SegmentationSet set;

    @BeforeAll
    static void generate() throws Exception {
        items = FashionMnist.samples();
        itemPixels = items.getFeatures().dup('c').data().asFloat();
        set = SegmentationSet.generate(items, 40, 64, 7);
    }

    @Test
    void theSameSeedGivesTheSameScenesAnotherSeedOthers() {
        SegmentationSet again = SegmentationSet.generate(items, 40, 64, 7);
        assertEquals(set.features(), again.features());
        assertTrue(Arrays.deepEquals(set.masks(), again.masks()));
        assertEquals(set.placements(), again.placements());
        SegmentationSet other = SegmentationSet.generate(items, 40, 64, 8);
        assertFalse(Arrays.deepEquals(set.masks(), other.masks()));
        assertFalse(set.features().equals(other.features()));
    }

    /** Each mask is what pasting its scene's items in order gives: the last item over a pixel wins. */
    @Test
    void theMasksAreTheItemsPastedAndNothingElse() {
        int size = set.size();
        for (int s = 0; s < set.count(); s++) {
            byte[] expected = new byte[size * size];
            for (SegmentationSet.Placement p : set.placements().get(s)) {
                assertEquals(argMax(p.item()), p.itemClass());
                assertTrue(p.top() >= 0 && p.left() >= 0 && p.top() + 28 <= size && p.left() + 28 <= size, p::toString);
                for (int r = 0; r < 28; r++) {
                    for (int c = 0; c < 28; c++) {
                        if (itemPixels[p.item() * 784 + r * 28 + c] > SegmentationSet.ITEM_THRESHOLD) {
                            expected[(p.top() + r) * size + p.left() + c] = (byte) (p.itemClass() + 1);
                        }
                    }
                }
            }
            assertArrayEquals(expected, set.masks()[s], "scene " + s);
            int items = set.placements().get(s).size();
            assertTrue(items >= 1 && items <= SegmentationSet.MAX_ITEMS, "items in scene " + s + ": " + items);
        }
    }

    /** Under an item's pixels the scene shows the item (within the added noise), not the background. */
    @Test
    void theScenesShowTheTopItemWhereTheMaskSaysSo() {
        int size = set.size();
        float[] x = set.features().dup('c').data().asFloat();
        for (float v : x) {
            assertTrue(v >= 0 && v <= 1, "features in [0, 1]: " + v);
        }
        for (int s = 0; s < set.count(); s++) {
            var placements = set.placements().get(s);
            SegmentationSet.Placement top = placements.get(placements.size() - 1);
            for (int r = 0; r < 28; r++) {
                for (int c = 0; c < 28; c++) {
                    float v = itemPixels[top.item() * 784 + r * 28 + c];
                    if (v > SegmentationSet.ITEM_THRESHOLD) {
                        int at = (top.top() + r) * size + top.left() + c;
                        assertEquals(v / 255f, x[s * size * size + at], 0.2f, "scene " + s + " pixel " + at);
                        assertEquals(top.itemClass() + 1, set.masks()[s][at]);
                    }
                }
            }
        }
    }

    @Test
    void theClassCountsAreThoseOfTheItemsPasted() {
        long[] counts = set.classCounts();
        assertEquals(SegmentationSet.classes(), counts.length);
        assertEquals(11, SegmentationSet.LABELS.size());
        assertEquals("background", SegmentationSet.LABELS.get(0));
        assertEquals((long) set.count() * 64 * 64, Arrays.stream(counts).sum());
        Set<Integer> pasted = new HashSet<>();
        set.placements().forEach(ps -> ps.forEach(p -> pasted.add(p.itemClass() + 1)));
        for (int c = 1; c < counts.length; c++) {
            assertEquals(pasted.contains(c), counts[c] > 0, "class " + c);
        }
        assertTrue(counts[0] > Arrays.stream(counts).skip(1).sum(), "mostly background");
        assertTrue(pasted.size() >= 8, "40 scenes of 30 items of 10 classes show most classes: " + pasted);
    }

    @Test
    void oneHotLabelsAreTheMasksPerPixel() {
        INDArray y = set.oneHot(3, 0, 17);
        assertArrayEquals(new long[] {3, 11, 64, 64}, y.shape());
        assertEquals(3 * 64 * 64, y.sumNumber().intValue());
        int[] classes = y.argMax(1).dup('c').data().asInt();
        for (int i = 0; i < 64 * 64; i++) {
            assertEquals(set.masks()[0][i], classes[64 * 64 + i]);
            assertEquals(set.masks()[17][i], classes[2 * 64 * 64 + i]);
        }
        assertEquals(set.features().get(org.nd4j.linalg.indexing.NDArrayIndex.point(17)), set.features(17).get(
                org.nd4j.linalg.indexing.NDArrayIndex.point(0)));
    }

    @Test
    void scenesSmallerThanAnItemAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> SegmentationSet.generate(items, 1, 27, 1));
        assertThrows(IllegalArgumentException.class, () -> SegmentationSet.generate(items, 0, 64, 1));
    }

    private static int argMax(int item) {
        return items.getLabels().getRow(item).argMax().getInt(0);
    }
}
