package org.densenet4j.zoo;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Parameter counts with Scale folded into BN and the BN moving statistics counted (Keras' way of
 * counting): the figures published for the Keras / Caffe models and the DenseNet paper's Table 2.
 */
class ParameterCountTest {

    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource({
        "densenet121, 8062504",
        "densenet169, 14307880",
        "densenet201, 20242984",
        "densenet161, 28900936",
        "densenet264, 33736232",
        "densenet40-k12, 1037818",
        "densenet100-k12, 7096858",
        "densenet100-k24, 27480346",
        "densenet-bc100-k12, 793150",
        "densenet-bc250-k24, 15582382",
        "densenet-bc190-k40, 25881390",
        "densenet-fmnist, 180778",
    })
    void initialisedGraphHasThePublishedParameterCount(String id, long expected) {
        ComputationGraph net = DenseNetZooModel.of(DenseNetPreset.fromId(id)).init();
        assertEquals(expected, net.numParams());
        net.close();
    }
}
