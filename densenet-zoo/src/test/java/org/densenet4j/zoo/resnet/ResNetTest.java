package org.densenet4j.zoo.resnet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.densenet4j.engine.CompiledGraph;
import org.densenet4j.engine.CompiledTrainer;
import org.densenet4j.testing.TorchReference;
import org.densenet4j.training.TrainingStep;
import org.densenet4j.zoo.DenseNetBuilder;
import org.densenet4j.zoo.TinyNets;
import org.densenet4j.zoo.io.ModelFiles;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Adam;

/** d2l's ResNet-18: its structure, its size, PyTorch's numbers for the same weights, and training. */
class ResNetTest {

    /**
     * 11,178,378 parameters as PyTorch counts them ({@code sum(p.numel() for p in net.parameters())}
     * of the network of d2l-ai/d2l-en v0.17.6, chapter_convolutional-modern/resnet.md, pytorch tab,
     * as tools/fixtures/make_zoo_fixtures.py writes it) plus the 7,808 values of its 20 BNs' running
     * means and variances, which DL4J counts as parameters.
     */
    private static final long RESNET18_D2L_PARAMETERS = 11_178_378L + 7_808L;

    @Test
    void resNet18HasTheParametersOfD2lsNetwork() {
        ComputationGraphConfiguration conf = ResNetZooModel.of(ResNetPreset.RESNET18_D2L).conf();
        assertEquals(RESNET18_D2L_PARAMETERS, DenseNetBuilder.numParams(conf));
        ComputationGraph net = ResNetZooModel.of(ResNetPreset.RESNET18_D2L).init();
        assertEquals(RESNET18_D2L_PARAMETERS, net.numParams());
        net.close();
    }

    @Test
    void layersHaveReadableNamesInD2lsOrder() {
        List<String> expected = new ArrayList<>(List.of("stem_conv", "stem_bn"));
        for (int stage = 2; stage <= 5; stage++) {
            for (int block = 1; block <= 2; block++) {
                String p = ResNetBuilder.blockName(stage, block);
                expected.addAll(List.of(p + "_conv1", p + "_bn1", p + "_conv2", p + "_bn2"));
                if (stage > 2 && block == 1) {
                    expected.add(p + "_shortcut");
                }
            }
        }
        expected.add("fc");
        ComputationGraphConfiguration conf = ResNetZooModel.of(ResNetPreset.RESNET18_D2L).conf();
        assertEquals(expected, new ArrayList<>(DenseNetBuilder.weightLayers(conf).keySet()));
        for (String vertex : List.of("stem_relu", "stem_pool", "stage2_block1_relu1", "stage2_block1_add",
                "stage2_block1_relu", "stage5_block2_add", "pool")) {
            assertTrue(conf.getVertices().containsKey(vertex), vertex);
        }
        assertEquals(List.of("fc"), conf.getNetworkOutputs());
    }

    @ParameterizedTest(name = "{0}x{1}, batch {2}")
    @CsvSource({"96, 96, 2", "61, 75, 1"})
    void computesWhatPyTorchComputesWithTheSameWeights(int height, int width, int batch) throws Exception {
        TorchReference torch = TorchReference.of("resnet18-d2l", height, width, batch);
        ResNetZooModel model = new ResNetZooModel(ResNetPreset.RESNET18_D2L, c -> c.inputShape(height, width, 1));
        torch.assertShapes(model.conf());
        ComputationGraph net = model.init();
        assertEquals(torch.trainableParameters() + torch.bnStatistics(), net.numParams(), "PyTorch's count");
        torch.loadInto(net);
        double diff = torch.maxLogProbabilityDifference(net.outputSingle(false, torch.input()));
        assertTrue(diff <= 1e-3, "max |log p - log p_torch| = " + diff);
        System.out.printf("resnet18-d2l %dx%d: max |log p - log p_torch| = %.2e%n", height, width, diff);
        net.close();
    }

    @Test
    void aTrainingStepHasPyTorchsGradients() throws Exception {
        TorchReference torch = TorchReference.withGradients("resnet18-d2l", 96, 96, 2);
        ComputationGraph net = ResNetZooModel.of(ResNetPreset.RESNET18_D2L).init();
        torch.loadInto(net);
        torch.assertGradients(net, 1e-3);
        net.close();
    }

    @Test
    void theEnginesRunTheResNet() {
        ComputationGraph net = new ResNetZooModel(ResNetPreset.RESNET18_D2L, c -> c.inputShape(32, 32, 1)).init();
        INDArray x = TinyNets.bars(3, 32, 4).getFeatures();
        if (CompiledGraph.available()) {
            assertTrue(CompiledGraph.tryCompile(net).isPresent(), "compiled inference");
            assertTrue(CompiledTrainer.tryCompile(net).isPresent(), "compiled training");
            assertTrue(TrainingStep.of(net, true).compiled().isPresent(), "TrainingStep trains it compiled");
            INDArray expected = net.outputSingle(false, x);
            INDArray actual = CompiledGraph.inference(net).apply(x);
            assertTrue(expected.equalsWithEps(actual, 1e-4), expected + " vs " + actual);
        } else {
            assertEquals(net.outputSingle(false, x), CompiledGraph.inference(net).apply(x),
                    "the fallback is the graph");
        }
        net.close();
    }

    @Test
    void aFewStepsOnATinyBatchLowerTheLoss() {
        ComputationGraph net = new ResNetZooModel(ResNetPreset.RESNET18_D2L,
                c -> c.numClasses(2).inputShape(16, 16, 1).updater(new Adam(1e-3))).init();
        DataSet batch = TinyNets.bars(8, 16, 5);
        // The training loss, with the batch's own statistics: a few steps barely move the running ones.
        double before = net.score(batch, true);
        for (int i = 0; i < 5; i++) {
            net.fit(batch);
        }
        double after = net.score(batch, true);
        assertTrue(after < 0.5 * before, "loss should at least halve: " + before + " -> " + after);
        net.close();
    }

    @Test
    void aModelZipReadsBackAsTheSameNetwork(@TempDir Path dir) throws Exception {
        ComputationGraph net = new ResNetZooModel(ResNetPreset.RESNET18_D2L, c -> c.inputShape(32, 32, 1)).init();
        Path zip = dir.resolve("resnet18-d2l.zip");
        ModelFiles.write(net, zip, false);
        ComputationGraph back = ModelFiles.read(zip, true);
        assertEquals(net.getConfiguration().toJson(), back.getConfiguration().toJson());
        INDArray x = TinyNets.bars(2, 32, 9).getFeatures();
        assertEquals(net.outputSingle(false, x), back.outputSingle(false, x));
        net.close();
        back.close();
    }

    @Test
    void badConfigurationsNameTheParameter() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> ResNetConfig.builder().stageBlocks(2, 2).stageChannels(64, 128, 256).build());
        assertTrue(e.getMessage().startsWith("stageChannels must have one entry per stage (2 stages)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> ResNetConfig.builder().stageBlocks(2, 0).stageChannels(8, 16).build());
        assertTrue(e.getMessage().startsWith("stageBlocks entry 1 must be > 0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ResNetPreset.fromId("resnet50"));
        assertTrue(e.getMessage().contains("resnet18-d2l"), e.getMessage());
    }
}
