package org.densenet4j.dl4j;

import org.densenet4j.zoo.DenseNetBuilder;
import org.densenet4j.zoo.DenseNetConfig;
import org.densenet4j.zoo.DenseNetZooModel;
import org.densenet4j.zoo.TinyNets;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Field;
import java.lang.reflect.Proxy;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.CacheMode;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.layers.convolution.ConvolutionHelper;
import org.deeplearning4j.nn.layers.convolution.ConvolutionLayer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Sgd;

/**
 * {@link FastPath}: each convolution computed once per training step and ReLU in one pass each way,
 * with the same gradients as DL4J's own layers.
 */
class FastPathTest {

    @Test
    void theZoosGraphsCacheTheirConvolutionsForTheBackwardPass() {
        DenseNetConfig config = TinyNets.tinyBc().build();
        assertEquals(CacheMode.DEVICE, DenseNetBuilder.build(config).getCacheMode(), "built with the cache");
        ComputationGraph net = new DenseNetZooModel("tiny", config).init();
        assertEquals(CacheMode.DEVICE, net.getConfiguration().getCacheMode(), "init() keeps it");
    }

    @Test
    void aTrainingStepRunsEachConvolutionOnceWithTheSameGradients() throws Exception {
        DenseNetConfig config = TinyNets.tinyBc().updater(new Sgd(0.1)).build();
        ComputationGraph fast = new DenseNetZooModel("tiny", config).init();
        ComputationGraph plain = fast.clone();
        plain.getConfiguration().setCacheMode(CacheMode.NONE);
        plain.setCacheMode(CacheMode.NONE);
        AtomicInteger fastCalls = countForwardConvolutions(fast);
        AtomicInteger plainCalls = countForwardConvolutions(plain);
        int convolutions = (int) java.util.Arrays.stream(fast.getLayers()).filter(l
                -> l instanceof ConvolutionLayer).count();
        long relus = java.util.Arrays.stream(fast.getLayers()).filter(l -> l instanceof FastReluLayer).count();
        assertEquals(fast.getConfiguration().getVertices().keySet().stream().filter(n -> n.startsWith("relu")).count(),
                relus, "every ReLU layer runs FastReluLayer");
        assertTrue(java.util.Arrays.stream(plain.getLayers()).noneMatch(l -> l instanceof FastReluLayer),
                "clone() builds DL4J's own layers: the reference");
        assertEquals(fast.getConfiguration().toJson(), plain.getConfiguration().toJson().replace("\"NONE\"",
                "\"DEVICE\""),
                "the configuration is DL4J's own");

        DataSet data = TinyNets.bars(16, 12, 7);
        Map<String, INDArray> expected = gradients(plain, data);
        Map<String, INDArray> actual = gradients(fast, data);
        assertEquals(2 * convolutions, plainCalls.get(), "DL4J's default recomputes each convolution for backprop");
        assertEquals(convolutions, fastCalls.get(), "the fast path computes each convolution once");
        assertEquals(expected.keySet(), actual.keySet());
        for (String name : expected.keySet()) { // the same numbers up to float rounding (oneDNN's, run to run)
            assertClose(name, expected.get(name), actual.get(name), 1e-5);
        }

        for (int i = 0; i < 3; i++) { // the cache of one step never leaks into the next
            fast.fit(data);
            plain.fit(data);
        }
        assertClose("params after 3 steps", plain.params(), fast.params(), 1e-4);
        // and a graph made otherwise goes on the fast path too, with the same outputs
        ComputationGraph other = FastPath.install(plain.clone());
        assertEquals(CacheMode.DEVICE, other.getConfiguration().getCacheMode());
        assertEquals(relus, java.util.Arrays.stream(other.getLayers()).filter(l -> l instanceof FastReluLayer).count());
        assertClose("outputs", plain.outputSingle(data.getFeatures()), other.outputSingle(data.getFeatures()), 1e-6);
    }

    /** Wraps each convolution layer's helper so that its forward calls are counted. */
    private static AtomicInteger countForwardConvolutions(ComputationGraph net) throws ReflectiveOperationException {
        Field field = ConvolutionLayer.class.getDeclaredField("helper");
        field.setAccessible(true);
        AtomicInteger calls = new AtomicInteger();
        for (Layer layer : net.getLayers()) {
            if (layer instanceof ConvolutionLayer) {
                ConvolutionHelper found = (ConvolutionHelper) field.get(layer);
                // a clone has no helper: DL4J 1.0.0-M2.1 never makes its oneDNN one
                // (NativeDefaults.oneDnnLayerHelpers);
                // the reference is the helper it means to make
                ConvolutionHelper helper = found != null ? found
                        : new
                        org.deeplearning4j.nn.layers.mkldnn.MKLDNNConvHelper(net.getConfiguration().getDataType());
                field.set(layer, Proxy.newProxyInstance(ConvolutionHelper.class.getClassLoader(),
                        new Class<?>[] {ConvolutionHelper.class}, (proxy, method, args) -> {
                            if (method.getName().equals("preOutput")) {
                                calls.incrementAndGet();
                            }
                            try {
                                return method.invoke(helper, args);
                            } catch (java.lang.reflect.InvocationTargetException e) {
                                throw e.getCause();
                            }
                        }));
            }
        }
        return calls;
    }

    /** max |expected - actual| at most {@code tolerance} times max(1, max |expected|). */
    private static void assertClose(String what, INDArray expected, INDArray actual, double tolerance) {
        double scale = Math.max(1.0, expected.amaxNumber().doubleValue());
        double diff = expected.sub(actual).amaxNumber().doubleValue();
        assertTrue(diff <= tolerance * scale, what + ": max difference " + diff + " (scale " + scale + ")");
    }

    private static Map<String, INDArray> gradients(ComputationGraph net, DataSet data) {
        net.setInputs(data.getFeatures());
        net.setLabels(data.getLabels());
        net.computeGradientAndScore();
        Map<String, INDArray> out = new TreeMap<>();
        net.gradient().gradientForVariable().forEach((k, v) -> out.put(k, v.dup()));
        return out;
    }
}
