package org.densenet4j.zoo;

import org.densenet4j.dl4j.FastPath;
import org.densenet4j.zoo.io.ModelFiles;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;

import org.deeplearning4j.common.resources.DL4JResources;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.zoo.PretrainedType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.learning.config.Adam;

/**
 * {@code initPretrained()} for transfer learning, as Keras' {@code weights='imagenet'} with
 * {@code include_top=False} and torchvision's weights with a new classifier: another class count
 * gives the backbone with a fresh classifier, a headless configuration the backbone, another input
 * size the same weights; another architecture is refused by name.
 */
class TransferPretrainedTest {

    @TempDir
    static Path cache;
    private static ComputationGraph imagenet;

    @BeforeAll
    static void cachedImageNetModel() throws Exception {
        DL4JResources.setBaseDirectory(cache.toFile());
        imagenet = new DenseNet121().init(); // stands in for the converted ImageNet weights
        ModelFiles.write(imagenet, ModelFiles.cachedModel("densenet121", PretrainedType.IMAGENET), false);
    }

    @AfterAll
    static void restoreCache() {
        DL4JResources.resetBaseDirectoryLocation();
    }

    private static void assertSameWeights(ComputationGraph net, String layer) {
        assertEquals(imagenet.getLayer(layer).params(), net.getLayer(layer).params(),
                layer + " holds the pretrained weights");
    }

    @Test
    void anotherClassCountKeepsTheBackboneWithAFreshClassifier() throws Exception {
        ComputationGraph net = new DenseNet121(c -> c.numClasses(5)).initPretrained();
        for (String layer : new String[] {"conv1", "conv1_bn", "conv2_1_x1", "conv3_blk", "conv5_16_x2",
                "conv5_blk_bn"}) {
            assertSameWeights(net, layer);
        }
        assertArrayEquals(new long[] {1024, 5}, net.getLayer("fc6").getParam("W").shape());
        assertTrue(FastPath.runsIn(net), "the fast path, as init() gives it");
    }

    @Test
    void aHeadlessConfigurationGivesTheBackboneAndAnotherInputSizeTheSameWeights() throws Exception {
        ComputationGraph headless = new DenseNet121(c -> c.headless(DenseNetConfig.Pooling.AVG)).initPretrained();
        assertNull(headless.getConfiguration().getVertices().get("fc6"));
        assertSameWeights(headless, "conv5_blk_bn");
        ComputationGraph wide = new DenseNet121(c -> c.inputShape(160, 192, 3)).initPretrained();
        assertEquals(imagenet.params(), wide.params());
        assertEquals(1000, wide.outputSingle(org.nd4j.linalg.factory.Nd4j.rand(
                org.nd4j.linalg.api.buffer.DataType.FLOAT, 1, 3, 160, 192)).size(1));
    }

    @Test
    void otherTrainingSettingsKeepTheFastPathAndApplyTheSettings() throws Exception {
        int transfers = DenseNetZooModel.TRANSFERS.get();
        DenseNet121 reseeded = new DenseNet121(c -> c.seed(7));
        ComputationGraph net = reseeded.initPretrained();
        DenseNet121 adam = new DenseNet121(c -> c.updater(new Adam(1e-3)).weightDecay(5e-4).seed(8));
        ComputationGraph tuned = adam.initPretrained();
        assertEquals(transfers, DenseNetZooModel.TRANSFERS.get(), "no rebuild-and-copy for training settings");
        assertEquals(imagenet.params(), net.params());
        assertEquals(imagenet.params(), tuned.params());
        // the configuration a fresh graph of these settings has: updater, L2 and seed of every layer
        ComputationGraph fresh = reseeded.init();
        assertEquals(fresh.getConfiguration().toJson(), net.getConfiguration().toJson());
        fresh.close();
        fresh = adam.init();
        assertEquals(fresh.getConfiguration().toJson(), tuned.getConfiguration().toJson());
        assertEquals(new Adam(1e-3), ((BaseLayer) tuned.getLayer("conv1").conf().getLayer()).getIUpdater());
        assertEquals(8L, tuned.getLayer("fc6").conf().getSeed());
        // Adam's two moments per parameter, not the Nesterov momentum the weights were saved with
        assertEquals(fresh.getUpdater().getStateViewArray().length(), tuned.getUpdater().getStateViewArray().length());
        assertTrue(FastPath.runsIn(tuned), "the fast path, as init() gives it");
        fresh.close();
    }

    @Test
    void anotherArchitectureIsRefusedByName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new DenseNet121(c -> c.growthRate(12)).initPretrained());
        assertTrue(e.getMessage().contains("cannot fill layer 'conv2_1_x1'")
                && e.getMessage().contains("growth rate 12 "
                + "instead of 32"), e.getMessage());
        IllegalArgumentException blocks = assertThrows(IllegalArgumentException.class,
                () -> new DenseNet121(c -> c.blockLayers(6, 12, 24, 17)).initPretrained());
        assertTrue(blocks.getMessage().contains("have no layer 'conv5_17_x1_bn'"), blocks.getMessage());
    }
}
