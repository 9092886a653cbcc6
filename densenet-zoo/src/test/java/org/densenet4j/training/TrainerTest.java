package org.densenet4j.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.zoo.DenseNetZooModel;
import org.densenet4j.zoo.TinyNets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Nesterovs;

/** The library's training loop: it learns, and a run resumed from its checkpoint continues exactly. */
class TrainerTest {

    private static final Trainer.Options OPTIONS = new Trainer.Options(3, 16, true);

    private static ComputationGraph fresh() {
        return new DenseNetZooModel("tiny", TinyNets.tinyBc().seed(7).updater(new Nesterovs(0.05, 0.9)).build()).init();
    }

    @Test
    void aRunLearnsTheBarsProblem() throws Exception {
        DataSet train = TinyNets.bars(96, 12, 1);
        DataSet test = TinyNets.bars(64, 12, 2);
        List<Epoch> epochs = new Trainer(TrainingStep.of(fresh(), true), OPTIONS).run(train, test, new Random(3));
        assertEquals(3, epochs.size());
        assertTrue(epochs.get(2).trainLoss() < epochs.get(0).trainLoss(), "loss falls: " + epochs);
        assertTrue(epochs.get(2).testAccuracy() > 0.8, "learns the bars: " + epochs);
    }

    @Test
    void aResumedRunContinuesExactly(@TempDir Path dir) throws Exception {
        DataSet train = TinyNets.bars(64, 12, 1);
        DataSet test = TinyNets.bars(32, 12, 2);
        List<Epoch> whole = new Trainer(TrainingStep.of(fresh(), true), OPTIONS).run(train, test, new Random(3));

        // Epoch 1 of the same run, then its checkpoint, as a run stopped after epoch 1 leaves it.
        Checkpoint checkpoint = new Checkpoint(dir.resolve("run-checkpoint.zip"), "tiny|3 epochs");
        ComputationGraph first = fresh();
        Random random = new Random(3);
        List<Epoch> one = new Trainer(TrainingStep.of(first, true), new Trainer.Options(1, 16, true))
                .run(train, test, 1, random, null, null, List.of());
        checkpoint.save(first, 1, random, one);
        assertTrue(checkpoint.exists());

        Checkpoint.Resumed r = checkpoint.resume();
        assertEquals(1, r.epochsDone());
        List<Epoch> rest = new Trainer(TrainingStep.of(r.net(), true), OPTIONS)
                .run(train, test, 2, r.random(), null, checkpoint, r.epochs());
        assertEquals(2, rest.size());
        for (int i = 0; i < 2; i++) {
            Epoch a = whole.get(i + 1);
            Epoch b = rest.get(i);
            assertEquals(a.epoch(), b.epoch());
            assertEquals(a.trainLoss(), b.trainLoss(), 1e-5 * Math.abs(a.trainLoss()), "epoch " + a.epoch() + " loss");
            assertEquals(a.testAccuracy(), b.testAccuracy(), 1e-9, "epoch " + a.epoch() + " test accuracy");
        }
    }
}
