package org.densenet4j.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.densenet4j.training.Epoch;
import org.densenet4j.zoo.DenseNetConfig;
import org.densenet4j.zoo.DenseNetZooModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.dataset.DataSet;

/** A comparison stopped in the middle of a network's run continues from its checkpoint to the same result. */
class ModelComparisonTest {

    private static final ModelComparison.Settings SETTINGS = new ModelComparison.Settings(3, 32, 16, 7);

    @TempDir
    Path dir;

    private static ModelComparison.Contender tiny(String name) {
        return new ModelComparison.Contender(name, 0.1, training -> new DenseNetZooModel(name, DenseNetConfig.builder()
                .stem(DenseNetConfig.Stem.CIFAR).growthRate(4).initialFilters(8).blockLayers(2, 2).bottleneck(true)
                .compression(0.5).numClasses(10).inputShape(16, 16, 1).training(training).build()).init());
    }

    /** Stops the run when epoch {@code at} ends, before its checkpoint. */
    private static final class Stop extends RuntimeException {
    }

    @Test
    void aStoppedRunContinuesFromItsCheckpointToTheResultOfOneWithoutAStop() throws IOException {
        DataSet train = FashionMnist.load(Path.of(FashionMnist.DEBIAN_DIR), true, 96);
        DataSet test = FashionMnist.load(Path.of(FashionMnist.DEBIAN_DIR), false, 32);
        List<ModelComparison.Contender> one = List.of(tiny("a"), tiny("b"));

        ModelComparison stopped = new ModelComparison(dir.resolve("stopped"), SETTINGS, true);
        assertThrows(Stop.class, () -> stopped.run(one, train, test, FashionMnist.d2lInput(16),
                new ModelComparison.Listener() {
                    @Override
                    public void epoch(Epoch e) {
                        if (e.epoch() == 2) {
                            throw new Stop();
                        }
                    }
                }));
        assertTrue(Files.exists(stopped.checkpointFile(one.get(0))));
        assertFalse(Files.exists(stopped.resultFile(one.get(0))));
        assertTrue(stopped.hasState(one));

        List<Integer> resumedAfter = new ArrayList<>();
        List<ModelComparison.Result> resumed = stopped.run(one, train, test, FashionMnist.d2lInput(16),
                new ModelComparison.Listener() {
                    @Override
                    public void starting(ModelComparison.Contender c, long parameters, String engine, int done) {
                        resumedAfter.add(done);
                    }
                });
        assertEquals(List.of(1, 0), resumedAfter, "a continues after its first epoch, b starts");
        assertFalse(Files.exists(stopped.checkpointFile(one.get(0))), "the checkpoint goes with the result");

        List<ModelComparison.Result> whole = new ModelComparison(dir.resolve("whole"), SETTINGS, true)
                .run(one, train, test, FashionMnist.d2lInput(16), null);
        for (int i = 0; i < 2; i++) {
            List<Epoch> r = resumed.get(i).epochs();
            List<Epoch> w = whole.get(i).epochs();
            assertEquals(3, r.size());
            for (int e = 0; e < 3; e++) {
                assertEquals(w.get(e).trainLoss(), r.get(e).trainLoss(), 1e-4, "train loss, epoch " + (e + 1));
                assertEquals(w.get(e).testAccuracy(), r.get(e).testAccuracy(), 1e-9, "test accuracy, epoch " + (e + 1));
            }
            assertEquals(whole.get(i).parameters(), resumed.get(i).parameters());
            assertTrue(resumed.get(i).peakResidentBytes() > 0, "peak memory measured");
        }
        // Identical networks from the same seed train alike: the comparison is fair.
        assertEquals(whole.get(0).last().trainLoss(), whole.get(1).last().trainLoss(), 1e-4);
    }
}
