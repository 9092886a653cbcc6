package org.densenet4j.testing;

import java.util.Random;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Random batch-norm statistics and affine parameters (and biases) for a graph, seeded: a freshly
 * initialised graph has gamma 1, beta 0, mean 0 and variance 1, under which a mistake in how a
 * batch norm or a bias is read or folded shows nowhere.
 */
public final class RandomParameters {

    private RandomParameters() {
    }

    /** {@code net} with gamma in [0.5, 1.5], beta, mean and biases in [-0.5, 0.5], variance in [0.5, 2]. */
    public static ComputationGraph randomise(ComputationGraph net, long seed) {
        Random rnd = new Random(seed);
        for (Layer layer : net.getLayers()) {
            for (var entry : layer.paramTable().entrySet()) {
                INDArray p = entry.getValue();
                switch (entry.getKey()) {
                    case "gamma" -> fill(p, rnd, 0.5, 1.5);
                    case "beta", "mean", "b" -> fill(p, rnd, -0.5, 0.5);
                    case "var" -> fill(p, rnd, 0.5, 2.0);
                    case "log10stdev" -> fill(p, rnd, -0.3, 0.3);
                    default -> {
                    }
                }
            }
        }
        return net;
    }

    private static void fill(INDArray p, Random rnd, double lo, double hi) {
        for (long i = 0; i < p.length(); i++) {
            p.putScalar(i, lo + (hi - lo) * rnd.nextDouble());
        }
    }
}
