package org.densenet4j.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Arrays;
import java.util.List;

import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.zoo.DenseNetConfig;
import org.densenet4j.zoo.DenseNetPreset;
import org.densenet4j.zoo.DenseNetZooModel;
import org.densenet4j.zoo.TinyNets;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * bf16 inference against fp32 (the DL4J graph's own outputs, or the fp32 compiled graph that
 * {@link CompiledGraphTest} holds to them) on graphs with random weights and randomised batch
 * norms, where the CPU runs bf16 natively.
 *
 * <p>The bound. bf16 keeps 8 significant bits: rounding to nearest is off by at most
 * {@code u = 2^-9} relative. A convolution in bf16 rounds its weights, its input and its output
 * (three roundings; the products are summed in fp32, whose own error is 2^16 times smaller). Every
 * convolution of a DenseNet lies on one path from the input to the classifier (each layer of a
 * block feeds the next, each transition the next block), so the logits carry the roundings of all
 * {@code L} convolutions and the classifier. Batch norm keeps the maps at unit scale, so each
 * rounding adds an error of at most about {@code u} of the values' scale: a feature map after
 * {@code L} layers is within {@code 3 L u} of its scale (first order, worst case). For a deep
 * network's logits that worst case says nothing (71% for DenseNet-121); but the roundings are
 * independent and a logit sums a thousand features, so the errors add in quadrature: the relative
 * logit error should stay below {@code sqrt(3 L) u} (3.7% for DenseNet-121's 121 layers; measured
 * 0.43-0.46%, 0.23-0.36% for a tiny DenseNet against a bound of 1.1%). The logits are the
 * log-probabilities less their mean per image (logits up to the constant softmax drops); |d log p|
 * is at most twice the largest logit error (log-sum-exp moves by at most that).
 */
class Bf16InferenceTest {

    private static final double U = Math.scalb(1.0, -9);

    @BeforeAll
    static void bf16() {
        assumeTrue(CompiledGraph.available(), "oneDNN natives not loaded on this platform");
        assumeTrue(Precision.bf16Supported(), "this CPU runs bf16 by emulation only (no AVX512_BF16 or AMX)");
    }

    @Test
    void tinyDenseNetInBf16IsCloseToTheGraph() {
        ComputationGraph net = CompiledGraphTest.randomised(new DenseNetZooModel("tiny",
                TinyNets.tinyBc().growthRate(16).initialFilters(32).numClasses(10).build()).init(), 21);
        CompiledGraph bf16 = CompiledGraph.compile(net, bf16Options());
        assertEquals(Precision.BF16, bf16.precision());
        for (long[] shape : new long[][] {{4, 1, 12, 12}, {1, 1, 17, 13}}) {
            INDArray x = input(shape, 22);
            assertLogitsClose(net.outputSingle(false, x), bf16.outputSingle(x), layers(net), Arrays.toString(shape));
        }
    }

    @Test
    void denseNet121InBf16IsCloseToFp32() {
        ComputationGraph net = CompiledGraphTest.randomised(DenseNetZooModel.of(DenseNetPreset.DENSENET121).init(), 1);
        CompiledGraph fp32 = CompiledGraph.compile(net, EngineOptions.defaults());
        CompiledGraph bf16 = CompiledGraph.compile(net, bf16Options());
        for (long[] shape : new long[][] {{2, 3, 224, 224}, {3, 3, 97, 130}}) {
            INDArray x = input(shape, 7);
            INDArray expected = fp32.outputSingle(x);
            INDArray actual = bf16.outputSingle(x);
            assertLogitsClose(expected, actual, layers(net), Arrays.toString(shape));
            assertEquals(expected.argMax(1), actual.argMax(1), "top-1 at " + Arrays.toString(shape));
        }
    }

    /** The residual sums in bf16 too (inside the convolutions, as post-ops, in bf16 maps). */
    @Test
    void resNet18InBf16IsCloseToFp32() {
        ComputationGraph net = CompiledGraphTest.randomised(
                new org.densenet4j.zoo.resnet.ResNetZooModel(org.densenet4j.zoo.resnet.ResNetPreset.RESNET18_D2L,
                        c -> c).init(), 2);
        CompiledGraph fp32 = CompiledGraph.compile(net, EngineOptions.defaults());
        CompiledGraph bf16 = CompiledGraph.compile(net, bf16Options());
        INDArray x = input(new long[] {2, 1, 96, 96}, 3);
        assertLogitsClose(fp32.outputSingle(x), bf16.outputSingle(x), layers(net), "ResNet-18");
        String plan = String.join("\n", bf16.describe(2, 1, 96, 96));
        assertTrue(!plan.contains(": ref") && !plan.contains("_add"), plan);
        assertTrue(bf16.describe(2, 1, 96, 96).stream().filter(s -> s.contains("_conv2: "))
                .allMatch(s -> s.endsWith(", bf16")), plan);
    }

    @Test
    void everyKindOfLayerItRunsInBf16() {
        ComputationGraph net = CompiledGraphTest.everyKindOfLayer();
        CompiledGraph bf16 = CompiledGraph.compile(net, bf16Options());
        double bound = 3.0 * layers(net) * U; // feature maps and probabilities of a shallow graph: worst case
        for (long[] shape : new long[][] {{2, 3, 19, 23}, {1, 3, 16, 20}}) {
            INDArray x = input(shape, 8);
            INDArray[] expected = net.output(false, x);
            INDArray[] actual = bf16.output(x);
            for (int i = 0; i < expected.length; i++) {
                assertEquals(DataType.FLOAT, actual[i].dataType(), "outputs are fp32");
                double scale = Math.max(expected[i].amaxNumber().doubleValue(), 1e-2);
                double diff = expected[i].sub(actual[i]).amaxNumber().doubleValue();
                System.out.printf("bf16 output %d at %s: max difference %.3g of scale %.3g (bound %.3g)%n", i,
                        Arrays.toString(shape), diff / scale, scale, bound);
                assertTrue(diff <= bound * scale, "output " + i + ": max difference " + diff + " at scale " + scale);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = DenseNetPreset.class, names = {"DENSENET121", "CIFAR_DENSENET40_K12",
        "CIFAR_DENSENET_BC100_K12", "FASHION_MNIST", "D2L_DENSENET"})
    void thePlanSaysBf16AndRunsOneDnnsFastCode(DenseNetPreset preset) {
        DenseNetConfig c = preset.config();
        CompiledGraph bf16 = CompiledGraph.compile(DenseNetZooModel.of(preset).init(), bf16Options());
        for (long batch : new long[] {1, 4}) {
            List<String> steps = bf16.describe(batch, c.inputChannels(), c.inputHeight(), c.inputWidth());
            String plan = String.join("\n", steps);
            assertTrue(steps.get(0).endsWith("reorder, f32 -> bf16"), plan); // the caller's input, converted
            assertTrue(steps.stream().noneMatch(s -> s.contains(": ref")), plan);
            assertTrue(steps.stream().filter(s -> s.contains("conv")).allMatch(s -> s.contains(", bf16")), plan);
            // the fp32 island at the end: pooled features out in fp32, the classifier in fp32
            assertTrue(steps.stream().anyMatch(s -> s.endsWith("out to an array, bf16 -> f32")), plan);
            assertTrue(steps.get(steps.size() - 1).endsWith(", f32"), plan);
            if (bf16.layout().equals("nhwc")) { // batch norms as one multiply-add (oneDNN's is slow in NHWC)
                assertTrue(steps.stream().anyMatch(s -> s.endsWith("(batch norm as a binary multiply-add)")), plan);
                assertTrue(steps.stream().noneMatch(s -> s.contains("bnorm")), plan);
            }
        }
    }

    @Test
    void fp32IsTheDefaultAndUnchanged() {
        ComputationGraph net = CompiledGraphTest.randomised(tiny(), 9);
        CompiledGraph byDefault = CompiledGraph.compile(net);
        assertEquals(Precision.FP32, byDefault.precision());
        assertEquals(Precision.FP32, EngineOptions.defaults().precision());
        List<String> steps = byDefault.describe(2, 1, 12, 12);
        assertTrue(steps.stream().noneMatch(s -> s.contains("bf16")), String.join("\n", steps));
        INDArray x = input(new long[] {2, 1, 12, 12}, 10);
        CompiledGraphTest.assertClose(net.outputSingle(false, x), byDefault.outputSingle(x), "fp32");
    }

    @Test
    void thePrecisionPropertyIsReadAndChecked() {
        System.setProperty("densenet4j.precision", "BF16");
        try {
            assertEquals(Precision.BF16, EngineOptions.fromSystemProperties().precision());
            ComputationGraph net = tiny();
            assertEquals(Precision.BF16, CompiledGraph.compile(net).precision());
            System.setProperty("densenet4j.precision", "fp16");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    EngineOptions::fromSystemProperties);
            assertEquals("-Ddensenet4j.precision: precision 'fp16': expected fp32 or bf16", e.getMessage());
        } finally {
            System.clearProperty("densenet4j.precision");
        }
        IllegalArgumentException int8 = assertThrows(IllegalArgumentException.class, () -> Precision.parse("int8"));
        assertTrue(int8.getMessage().contains("not implemented yet"), int8.getMessage());
    }

    @Test
    void predictorsServeInThePrecisionTheyAreGiven() {
        ComputationGraph net = CompiledGraphTest.randomised(tiny(), 31);
        INDArray x = input(new long[] {1, 1, 12, 12}, 32);
        INDArray bf16 = CompiledGraph.compile(net, bf16Options()).outputSingle(x);
        INDArray fp32 = CompiledGraph.compile(net, EngineOptions.defaults()).outputSingle(x);
        assertTrue(bf16.sub(fp32).amaxNumber().doubleValue() > 0, "bf16 rounds something");
        try (ConcurrentPredictor replicas = new ConcurrentPredictor(net, 2, bf16Options());
             BatchingPredictor batching = new BatchingPredictor(net, BatchingPredictor.Options.defaults(),
                     bf16Options())) {
            assertTrue(replicas.compiledReplicas().stream().allMatch(c -> c.precision() == Precision.BF16));
            assertEquals(0.0, bf16.sub(replicas.predict(x)).amaxNumber().doubleValue(),
                    "the same plan, the same numbers");
            assertEquals(0.0, bf16.sub(batching.predict(x)).amaxNumber().doubleValue(), "a batch of one, in bf16");
        }
    }

    private static ComputationGraph tiny() {
        return new DenseNetZooModel("tiny", TinyNets.tinyBc().build()).init();
    }

    private static EngineOptions bf16Options() {
        return EngineOptions.defaults().withPrecision(Precision.BF16);
    }

    /** The graph's convolution and dense layers: its DenseNet path's length. */
    private static int layers(ComputationGraph net) {
        return (int) Arrays.stream(net.getLayers()).map(l -> l.conf().getLayer())
                .filter(l -> l instanceof ConvolutionLayer || l instanceof DenseLayer || l instanceof OutputLayer)
                .count();
    }

    /**
     * The logits of {@code actual} (probabilities) within {@code sqrt(3 layers) u} of {@code expected}'s,
     * relative to their largest; |d log p| within twice that.
     */
    private static void assertLogitsClose(INDArray expected, INDArray actual, int layers, String what) {
        INDArray logE = Transforms.log(expected, true);
        INDArray logA = Transforms.log(actual, true);
        INDArray zE = logE.subColumnVector(logE.mean(1));
        INDArray zA = logA.subColumnVector(logA.mean(1));
        double scale = zE.amaxNumber().doubleValue();
        double logitError = zE.sub(zA).amaxNumber().doubleValue() / scale;
        double logP = logE.sub(logA).amaxNumber().doubleValue();
        double bound = Math.sqrt(3.0 * layers) * U;
        System.out.printf("bf16 %s, %d layers: max relative logit error %.3g (bound %.3g), max |d log p| %.3g "
                + "(bound %.3g), logits up to %.3g%n", what, layers, logitError, bound, logP, 2 * bound * scale, scale);
        assertTrue(logitError <= bound, what + ": relative logit error " + logitError + " above " + bound);
        assertTrue(logP <= 2 * bound * scale, what + ": |d log p| " + logP + " above " + 2 * bound * scale);
    }

    private static INDArray input(long[] shape, long seed) {
        Nd4j.getRandom().setSeed(seed);
        return Nd4j.rand(DataType.FLOAT, shape).subi(0.5).muli(2);
    }
}
