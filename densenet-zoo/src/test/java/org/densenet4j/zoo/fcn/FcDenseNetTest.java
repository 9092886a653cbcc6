package org.densenet4j.zoo.fcn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.densenet4j.engine.CompiledGraph;
import org.densenet4j.engine.CompiledTrainer;
import org.densenet4j.testing.TorchReference;
import org.densenet4j.zoo.DenseNetBuilder;
import org.densenet4j.zoo.TinyNets;
import org.densenet4j.zoo.io.ModelFiles;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;

/**
 * The FC-DenseNets of the Tiramisu paper: their size against the paper's, their shapes, PyTorch's
 * numbers for the same weights (outputs and a training step's gradients), and training.
 */
class FcDenseNetTest {

    /** A small FC-DenseNet (2 pools, k=4, 8 first filters): the fixture script's fc-densenet-tiny. */
    private static FcDenseNetConfig.Builder tiny() {
        return FcDenseNetConfig.builder().initialFilters(8).growthRate(4).layersPerBlock(2, 2);
    }

    /**
     * Parameter counts with the BN running means and variances, as DL4J counts them and as the
     * authors' Lasagne code counts them ({@code get_all_param_values} holds each BatchNormLayer's
     * mean and inv_std; SimJeg/FC-DenseNet, FC-DenseNet.py, {@code summary}), for 11 classes and RGB
     * input: PyTorch's {@code sum(p.numel() for p in net.parameters())} of the network of
     * tools/fixtures/make_zoo_fixtures.py plus its BNs' statistics. The paper (section 4, Table 1)
     * gives 1.5M, 3.5M and 9.4M: 67 and 103 round to theirs (103's trainable parameters alone are
     * 9.3M); 56 rounds to 1.4M, as re-implementations report too (SimJeg/FC-DenseNet issue #31:
     * "56 layer: 1.4 mil"), with the layers the paper and the authors' code give it.
     */
    @ParameterizedTest(name = "{0}: {1} + {2} (paper: {3}M)")
    @CsvSource({
        "fc-densenet56, 1376795, 21168, 1.5, 1.4",
        "fc-densenet67, 3463243, 39680, 3.5, 3.5",
        "fc-densenet103, 9322091, 103072, 9.4, 9.4",
    })
    void parameterCountsAreThePapersToATenthOfAMillion(String id, long trainable, long statistics, double paper,
                                                        double ours) {
        long count = DenseNetBuilder.numParams(FcDenseNetZooModel.of(FcDenseNetPreset.fromId(id)).conf());
        assertEquals(trainable + statistics, count);
        assertEquals(ours, Math.round(count / 1e5) / 10.0, 1e-9, "millions, to one decimal");
        if (!id.equals("fc-densenet56")) {
            assertEquals(paper, ours, 1e-9, "the paper's figure");
        }
    }

    @ParameterizedTest(name = "{0} at {1}x{2}")
    @CsvSource({
        "fc-densenet56, 224, 224", "fc-densenet56, 96, 96",
        "fc-densenet67, 224, 224", "fc-densenet67, 96, 96",
        "fc-densenet103, 224, 224", "fc-densenet103, 96, 96",
        "fc-densenet103, 360, 480", "fc-densenet103, 37, 50",
    })
    void outputIsOneClassDistributionPerInputPixel(String id, int height, int width) {
        FcDenseNetZooModel model = new FcDenseNetZooModel(FcDenseNetPreset.fromId(id),
                c -> c.inputShape(height, width, 3));
        Map<String, InputType> types = model.conf().getLayerActivationTypes(InputType.convolutional(height, width, 3));
        assertEquals(InputType.convolutional(height, width, 11), types.get(FcDenseNetBuilder.OUTPUT));
    }

    @Test
    void layersHaveTheZoosDenseBlockNamesAndTransitionsDownAndUp() {
        ComputationGraphConfiguration conf = FcDenseNetZooModel.of(FcDenseNetPreset.FC_DENSENET103).conf();
        List<Integer> layers = FcDenseNetPreset.FC_DENSENET103.config().blockLayers();
        List<String> expected = new ArrayList<>(List.of("conv1"));
        for (int block = 0; block < layers.size(); block++) {
            int stage = block + 2;
            if (block > 5) {
                expected.add("transition_up" + stage + "_deconv");
            }
            for (int b = 1; b <= layers.get(block); b++) {
                expected.add("conv" + stage + "_" + b + "_x2_bn");
                expected.add("conv" + stage + "_" + b + "_x2");
            }
            if (block < 5) {
                expected.add("transition_down" + stage + "_bn");
                expected.add("transition_down" + stage + "_conv");
            }
        }
        expected.add(FcDenseNetBuilder.CLASSIFIER);
        assertEquals(expected, new ArrayList<>(DenseNetBuilder.weightLayers(conf).keySet()));
        for (String vertex : List.of("relu2_1_x2", "conv2_1_x2_drop", "concat_2_1", "transition_down2_relu",
                "transition_down2_conv_drop", "transition_down2_pool", "concat_7_14", "transition_up8_in",
                "transition_up8_crop", "transition_up8_concat", "concat_12_4")) {
            assertTrue(conf.getVertices().containsKey(vertex), vertex);
        }
        // the bottleneck's and the inner upsampling blocks' last layers go on alone, in the next transition up
        for (String vertex : List.of("concat_7_15", "concat_8_12", "concat_11_5")) {
            assertFalse(conf.getVertices().containsKey(vertex), vertex);
        }
        assertEquals(List.of(FcDenseNetBuilder.OUTPUT), conf.getNetworkOutputs());
        // transition up 8 takes the bottleneck's 15 new maps, [up, skip] as the authors concatenate
        assertEquals(15, conf.getVertexInputs().get("transition_up8_in").size());
        assertEquals(List.of("transition_up8_crop", "concat_6_12"),
                conf.getVertexInputs().get("transition_up8_concat"));
    }

    @ParameterizedTest(name = "{0} at {1}x{2}, batch {3}")
    @CsvSource({
        "fc-densenet-tiny, 13, 18, 2",
        "fc-densenet56, 36, 44, 1",
        "fc-densenet67, 32, 32, 1",
        "fc-densenet103, 36, 44, 1",
    })
    void computesWhatPyTorchComputesWithTheSameWeights(String arch, int height, int width, int batch)
            throws Exception {
        TorchReference torch = TorchReference.of(arch, height, width, batch);
        FcDenseNetConfig config = (arch.equals("fc-densenet-tiny") ? tiny()
                : FcDenseNetPreset.fromId(arch).config().toBuilder()).inputShape(height, width, 3).build();
        FcDenseNetZooModel model = new FcDenseNetZooModel(arch, config);
        torch.assertShapes(model.conf());
        ComputationGraph net = model.init();
        assertEquals(torch.trainableParameters() + torch.bnStatistics(), net.numParams(), "PyTorch's count");
        torch.loadInto(net);
        double diff = torch.maxLogProbabilityDifference(net.outputSingle(false, torch.input()));
        System.out.printf("%s %dx%d: max |log p - log p_torch| over the pixels = %.2e%n", arch, height, width, diff);
        assertTrue(diff <= 1e-3, "max |log p - log p_torch| = " + diff);
        net.close();
    }

    @Test
    void aTrainingStepHasPyTorchsGradients() throws Exception {
        TorchReference torch = TorchReference.withGradients("fc-densenet-tiny", 13, 18, 2);
        // PyTorch's step runs without dropout and adds no weight decay to the loss
        ComputationGraph net = new FcDenseNetZooModel("tiny", tiny().inputShape(13, 18, 3)
                .dropoutRate(0).weightDecay(0).build()).init();
        torch.loadInto(net);
        torch.assertGradients(net, 1e-3);
        net.close();
    }

    /**
     * FC-DenseNet56's gradients with DL4J's own layers: the model is PyTorch's. (Its fast path is
     * {@link #fastPathGivesFcDenseNet56TheGradientsOfDl4jsOwnLayers}.)
     */
    @Test
    void fcDenseNet56sTrainingStepHasPyTorchsGradients() throws Exception {
        TorchReference torch = TorchReference.withGradients("fc-densenet56", 64, 64, 2);
        ComputationGraph net = new ComputationGraph(fcDenseNet56WithoutDropout(64, 64).conf());
        net.init();
        torch.loadInto(net);
        torch.assertGradients(net, 1e-3);
        net.close();
    }

    /**
     * The same step on {@code init()}'s graph, with {@code FastPath}'s helpers. Fails, and not
     * because of a helper: channel 104 of {@code conv6_2_x2_bn} (beta -0.430 against DL4J's and
     * PyTorch's -0.373) differs because one of its 32 outputs lies at the ReLU's kink. Its exact
     * (float64) value is +5.5e-6; DL4J's own layers compute +1.3e-5, the fast path -3.3e-6, both
     * within the float32 forward error at that depth (about 1e-5 there, the fast path's no larger
     * than DL4J's: {@link #fastPathsForwardPassIsAsExactAsDl4jsOwnLayers}). The fast path's ReLU
     * stops that gradient (0.057), DL4J's passes it, and every layer before takes the difference
     * (2e-3 to 3e-3). Moving that one kink away (that beta + 1e-4 in both graphs) brings
     * {@code conv6_2_x2_bn} and the layers behind it to 1e-4, but two more flips remain
     * ({@code transition_down4_relu}/{@code _pool}, 1.5e-3 at {@code conv4_4_x2_bn}). Each float32
     * implementation lands on the other side of some of this fixture's kinks (here DL4J's on 6 of
     * the ReLU/max-pool decisions, the fast path on 5, against float64), so a 1e-3 gradient match
     * of two of them is luck; which ones flip changes with any change of rounding (each of
     * oneDnnConv, oneDnnBatchNorm, blockedBatchNorm). To be enabled with a kink-aware comparison
     * (or a fixture that has none within float32 error).
     */
    @Test
    @Disabled("float32 rounding puts one pre-ReLU value of conv6_2_x2_bn on the other side of 0 (see Javadoc)")
    void fastPathGivesFcDenseNet56TheGradientsOfDl4jsOwnLayers() throws Exception {
        TorchReference torch = TorchReference.withGradients("fc-densenet56", 64, 64, 2);
        ComputationGraph net = fcDenseNet56WithoutDropout(64, 64).init();
        torch.loadInto(net);
        torch.assertGradients(net, 1e-3);
        net.close();
    }

    /**
     * The fast path's training forward pass on FC-DenseNet56 (PyTorch's weights and input) is, at
     * every vertex, about as close to a float64 pass as DL4J's own layers are: what makes
     * {@link #fastPathGivesFcDenseNet56TheGradientsOfDl4jsOwnLayers} differ is where float32
     * rounding leaves values at a kink, not a less exact (or wrong) forward pass.
     */
    @Test
    void fastPathsForwardPassIsAsExactAsDl4jsOwnLayers() throws Exception {
        TorchReference torch = TorchReference.withGradients("fc-densenet56", 64, 64, 2);
        ComputationGraph fast = fcDenseNet56WithoutDropout(64, 64).init();
        ComputationGraph own = new ComputationGraph(fcDenseNet56WithoutDropout(64, 64).conf());
        own.init();
        torch.loadInto(fast);
        torch.loadInto(own);
        ComputationGraph exact = own.convertDataType(DataType.DOUBLE);
        INDArray x = torch.input();
        Map<String, INDArray> f64 = exact.feedForward(x.castTo(DataType.DOUBLE), true);
        Map<String, INDArray> ownOut = own.feedForward(x, true);
        Map<String, INDArray> fastOut = fast.feedForward(x, true);
        int compared = 0;
        for (String v : own.getConfiguration().getTopologicalOrderStr()) {
            INDArray t = f64.get(v);
            if (t == null || !fastOut.containsKey(v)) {
                continue;
            }
            double scale = t.amaxNumber().doubleValue();
            double ownError = ownOut.get(v).castTo(DataType.DOUBLE).sub(t).amaxNumber().doubleValue() / scale;
            double fastError = fastOut.get(v).castTo(DataType.DOUBLE).sub(t).amaxNumber().doubleValue() / scale;
            // measured: at most 2.2x DL4J's own at any vertex, mostly below it
            assertTrue(fastError <= Math.max(4 * ownError, 1e-6),
                    v + ": the fast path's error " + fastError + " against DL4J's own " + ownError);
            compared++;
        }
        assertTrue(compared > 200, "vertices compared: " + compared);
        fast.close();
        own.close();
        exact.close();
    }

    private static FcDenseNetZooModel fcDenseNet56WithoutDropout(int height, int width) {
        // PyTorch's step runs without dropout and adds no weight decay to the loss
        return new FcDenseNetZooModel(FcDenseNetPreset.FC_DENSENET56,
                c -> c.inputShape(height, width, 3).dropoutRate(0).weightDecay(0));
    }

    @Test
    void theEnginesRefuseTheTransposedConvolutionAndTheGraphRunsInstead() {
        ComputationGraph net = new FcDenseNetZooModel("tiny", tiny().inputShape(16, 16, 3).build()).init();
        if (CompiledGraph.available()) {
            var refusal = assertThrows(UnsupportedOperationException.class, () -> CompiledGraph.compile(net));
            assertTrue(refusal.getMessage().contains("'transition_up5_deconv' (Deconvolution2D)"),
                    refusal.getMessage());
            var training = assertThrows(UnsupportedOperationException.class, () -> CompiledTrainer.compile(net));
            assertTrue(training.getMessage().contains("'conv2_1_x2_drop'"), training.getMessage());
            ComputationGraph noDropout = new FcDenseNetZooModel("tiny", tiny().inputShape(16, 16, 3).dropoutRate(0)
                    .build()).init();
            training = assertThrows(UnsupportedOperationException.class, () -> CompiledTrainer.compile(noDropout));
            assertTrue(training.getMessage().contains("'transition_up5_deconv'"), training.getMessage());
            noDropout.close();
        }
        assertFalse(CompiledGraph.tryCompile(net).isPresent());
        INDArray x = Nd4j.rand(2, 3, 16, 16);
        assertEquals(net.outputSingle(false, x), CompiledGraph.inference(net).apply(x), "the fallback is the graph");
        net.close();
    }

    @ParameterizedTest
    @EnumSource(FcDenseNetPreset.class)
    void aFewStepsOnATinyBatchLowerTheLoss(FcDenseNetPreset preset) {
        ComputationGraph net = new FcDenseNetZooModel(preset,
                c -> c.numClasses(2).inputShape(32, 32, 1).updater(new Adam(1e-3))).init();
        DataSet batch = TinyNets.squares(2, 32, 6);
        net.fit(batch);
        double first = net.score(); // the loss of the first step's forward pass, dropout and all
        net.fit(batch);
        net.fit(batch);
        double last = net.score();
        System.out.printf("%s: loss %.4f -> %.4f in 3 steps%n", preset.id(), first, last);
        assertTrue(last < 0.8 * first, preset.id() + ": loss " + first + " -> " + last);
        net.close();
    }

    @Test
    void aSmallFcDenseNetLearnsToSegmentRectangles() {
        ComputationGraph net = new FcDenseNetZooModel("tiny", tiny().numClasses(2).inputShape(12, 12, 1)
                .dropoutRate(0).updater(new Adam(1e-2)).build()).init();
        DataSet train = TinyNets.squares(16, 12, 7);
        for (int i = 0; i < 30; i++) {
            net.fit(train);
        }
        DataSet test = TinyNets.squares(32, 12, 8);
        INDArray predicted = net.outputSingle(false, test.getFeatures()).argMax(1);
        INDArray truth = test.getLabels().argMax(1);
        double accuracy = predicted.eq(truth).castTo(DataType.DOUBLE).meanNumber().doubleValue();
        double background = 1 - truth.castTo(DataType.DOUBLE).meanNumber().doubleValue();
        System.out.printf("tiny FC-DenseNet: held-out pixel accuracy %.3f (all background: %.3f)%n", accuracy,
                background);
        assertTrue(accuracy >= 0.9, "held-out pixel accuracy " + accuracy);
        net.close();
    }

    @Test
    void resizedMovesTheParametersToAnotherInputSize() {
        FcDenseNetConfig config = tiny().inputShape(16, 16, 3).build();
        ComputationGraph net = new FcDenseNetZooModel("tiny", config).init();
        ComputationGraph wide = FcDenseNetZooModel.resized(net, config, 13, 30);
        assertEquals(net.paramTable().keySet(), wide.paramTable().keySet());
        net.paramTable().forEach((k, v) -> assertEquals(v, wide.getParam(k), k));
        assertArrayEquals(new long[] {2, 11, 13, 30}, wide.outputSingle(false, Nd4j.rand(2, 3, 13, 30)).shape());
        var e = assertThrows(IllegalArgumentException.class, () -> FcDenseNetZooModel.resized(net,
                config.toBuilder().growthRate(6).build(), 16, 16));
        assertTrue(e.getMessage().startsWith("layer 'conv2_1_x2' holds"), e.getMessage());
    }

    @Test
    void aModelZipReadsBackAsTheSameNetwork(@TempDir Path dir) throws Exception {
        ComputationGraph net = new FcDenseNetZooModel("tiny", tiny().inputShape(16, 20, 3).build()).init();
        Path zip = dir.resolve("tiny.zip");
        ModelFiles.write(net, zip, false);
        ComputationGraph back = ModelFiles.read(zip, true);
        assertEquals(net.getConfiguration().toJson(), back.getConfiguration().toJson());
        INDArray x = Nd4j.rand(2, 3, 16, 20);
        assertEquals(net.outputSingle(false, x), back.outputSingle(false, x));
        net.close();
        back.close();
    }

    @Test
    void badConfigurationsNameTheParameter() {
        var e = assertThrows(IllegalArgumentException.class, () -> tiny().blockLayers(2, 2, 2, 2).build());
        assertTrue(e.getMessage().startsWith("blockLayers must have 2 * pools + 1 entries"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> FcDenseNetConfig.builder().inputShape(31, 224, 3).build());
        assertTrue(e.getMessage().startsWith("inputHeight must be at least 2^pools = 32"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> FcDenseNetPreset.fromId("fc-densenet57"));
        assertTrue(e.getMessage().contains("fc-densenet56, fc-densenet67, fc-densenet103"), e.getMessage());
    }
}
