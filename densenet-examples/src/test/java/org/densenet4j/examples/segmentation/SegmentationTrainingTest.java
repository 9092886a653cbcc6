package org.densenet4j.examples.segmentation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.examples.FashionMnist;
import org.densenet4j.training.Checkpoint;
import org.densenet4j.training.TrainingStep;
import org.densenet4j.zoo.fcn.FcDenseNetConfig;
import org.densenet4j.zoo.fcn.FcDenseNetZooModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Two epochs of a tiny FC-DenseNet on a few scenes: the results, the checkpoint, the resumed epochs. */
class SegmentationTrainingTest {

    @TempDir
    Path dir;

    @Test
    void epochsAreEvaluatedPerPixelAndTheCheckpointKeepsTheMeanIoU() throws Exception {
        var items = FashionMnist.samples();
        SegmentationSet train = SegmentationSet.generate(items, 8, 32, 1);
        SegmentationSet test = SegmentationSet.generate(items, 4, 32, 2);
        FcDenseNetConfig config = FcDenseNetConfig.builder().initialFilters(8).growthRate(4).blockLayers(1, 1, 1)
                .numClasses(SegmentationSet.classes()).inputShape(32, 32, 1).seed(3).build();
        ComputationGraph net = new FcDenseNetZooModel("tiny", config).init();
        TrainingStep step = TrainingStep.of(net, true);
        assertEquals("the graph's fit()", step.describe(), "the engine has no Deconvolution2D");
        Checkpoint checkpoint = new Checkpoint(dir.resolve("c.zip"), "tiny");
        List<SegmentationEpoch> epochs = new SegmentationTraining(step, 2, 4).run(train, test, 1, new Random(4),
                null, checkpoint, List.of());
        assertEquals(2, epochs.size());
        for (SegmentationEpoch e : epochs) {
            assertTrue(e.trainLoss() > 0 && e.trainLoss() < 10, "per-pixel loss " + e.trainLoss());
            assertTrue(e.testPixelAccuracy() >= 0 && e.testPixelAccuracy() <= 1);
            assertTrue(e.testMeanIoU() >= 0 && e.testMeanIoU() <= 1);
            assertTrue(e.testLoss() > 0);
        }
        SegmentationMetrics again = new SegmentationMetrics(SegmentationSet.classes());
        SegmentationTraining.evaluate(step, test, again);
        assertEquals(epochs.get(1).testMeanIoU(), again.meanIoU(), 1e-9, "the last epoch scored the weights as left");
        assertEquals(4L * 32 * 32, again.pixels());

        Checkpoint.Resumed r = checkpoint.resume(); // written after epoch 1, not after the last
        assertEquals(1, r.epochsDone());
        List<SegmentationEpoch> resumed = SegmentationTraining.resumed(r);
        assertEquals(1, resumed.size());
        SegmentationEpoch first = epochs.get(0);
        SegmentationEpoch back = resumed.get(0);
        assertEquals(first.testMeanIoU(), back.testMeanIoU());
        assertEquals(first.testPixelAccuracy(), back.testPixelAccuracy());
        assertEquals(first.trainLoss(), back.trainLoss());
    }
}
