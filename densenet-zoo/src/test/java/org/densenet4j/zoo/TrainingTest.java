package org.densenet4j.zoo;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import java.util.stream.Collectors;

import org.deeplearning4j.gradientcheck.GradientCheckUtil;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.params.BatchNormalizationParamInitializer;
import org.junit.jupiter.api.Test;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.NoOp;

/** The graph trains: its gradients are right and a few steps of fit() learn a simple problem. */
class TrainingTest {

    @Test
    void fewIterationsLowerTheLossAndLearnTheProblem() {
        ComputationGraph net = new DenseNetZooModel("tiny", TinyNets.tinyBc()
                .updater(new Adam(1e-2)).build()).init();
        DataSet train = TinyNets.bars(64, 12, 1);
        DataSet test = TinyNets.bars(64, 12, 2);

        double before = net.score(train, false);
        for (int i = 0; i < 40; i++) {
            net.fit(train);
        }
        double after = net.score(train, false);
        assertTrue(after < 0.5 * before, "loss should at least halve: " + before + " -> " + after);

        Evaluation eval = new Evaluation(2);
        eval.eval(test.getLabels(), net.outputSingle(test.getFeatures()));
        assertTrue(eval.accuracy() >= 0.9, "held-out accuracy " + eval.accuracy());
        net.close();
    }

    @Test
    void backpropagationMatchesNumericalGradients() {
        // Dropout off, no updater, double precision: the conditions of a gradient check.
        // Every parameter is perturbed (DL4J checks no subset of a graph), so the net is kept tiny:
        // it still has a bottleneck, a 3x3 conv, a concat and a transition with average pooling.
        ComputationGraph net = new DenseNetZooModel("tiny", TinyNets.tinyBc()
                .growthRate(2)
                .initialFilters(4)
                .bottleneckWidth(2)
                .blockLayers(2, 1)
                .inputShape(4, 4, 1)
                .updater(new NoOp())
                .build()).init();
        DataType defaultType = Nd4j.dataType();
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
        try {
            ComputationGraph doubleNet = net.convertDataType(DataType.DOUBLE);
            DataSet data = TinyNets.bars(4, 4, 3);
            boolean ok = GradientCheckUtil.checkGradients(new GradientCheckUtil.GraphConfig()
                    .net(doubleNet)
                    .inputs(new INDArray[] {data.getFeatures().castTo(DataType.DOUBLE)})
                    .labels(new INDArray[] {data.getLabels().castTo(DataType.DOUBLE)})
                    .epsilon(1e-6)
                    .maxRelError(1e-3)
                    .minAbsoluteError(1e-8)
                    .excludeParams(movingStatistics(doubleNet)));
            assertTrue(ok, "analytic and numerical gradients differ (see the log above)");
        } finally {
            Nd4j.setDefaultDataTypes(defaultType, defaultType);
        }
    }

    /** BN running mean/variance: updated by moving averages, not by gradients, so not checked. */
    private static Set<String> movingStatistics(ComputationGraph net) {
        return net.paramTable().keySet().stream()
                .filter(k -> k.endsWith("_" + BatchNormalizationParamInitializer.GLOBAL_MEAN)
                        || k.endsWith("_" + BatchNormalizationParamInitializer.GLOBAL_VAR))
                .collect(Collectors.toSet());
    }
}
