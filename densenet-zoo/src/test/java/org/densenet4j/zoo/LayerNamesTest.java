package org.densenet4j.zoo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The graph's layer names are exactly those of the seed's Keras code. */
class LayerNamesTest {

    /**
     * The weight-holding layer names, in order, as the seed's Keras DenseNet function creates them
     * (Scale layers folded into their BN, so they hold no weights of their own here).
     */
    static List<String> kerasWeightNames(int... blockLayers) {
        List<String> names = new ArrayList<>(List.of("conv1", "conv1_bn"));
        int stage = 1;
        for (int blockIdx = 0; blockIdx < blockLayers.length - 1; blockIdx++) {
            stage = blockIdx + 2;
            kerasDenseBlock(names, stage, blockLayers[blockIdx]);
            names.add("conv" + stage + "_blk_bn");
            names.add("conv" + stage + "_blk");
        }
        int finalStage = stage + 1;
        kerasDenseBlock(names, finalStage, blockLayers[blockLayers.length - 1]);
        names.add("conv" + finalStage + "_blk_bn");
        names.add("fc6");
        return names;
    }

    private static void kerasDenseBlock(List<String> names, int stage, int layers) {
        for (int i = 0; i < layers; i++) {
            String convNameBase = "conv" + stage + "_" + (i + 1);
            names.add(convNameBase + "_x1_bn");
            names.add(convNameBase + "_x1");
            names.add(convNameBase + "_x2_bn");
            names.add(convNameBase + "_x2");
        }
    }

    static List<String> weightHoldingLayers(ComputationGraphConfiguration conf) {
        List<String> names = new ArrayList<>();
        // The order DL4J runs (and flattens parameters in); the graph is not initialised.
        var indices = new ComputationGraph(conf).calculateIndices();
        for (int idx : indices.getTopologicalSortOrder()) {
            String name = indices.getIdxToName().get(idx);
            if (conf.getVertices().get(name) instanceof LayerVertex v) {
                Layer layer = v.getLayerConf().getLayer();
                if (layer.initializer().numParams(layer) > 0) {
                    names.add(name);
                }
            }
        }
        return names;
    }

    @ParameterizedTest
    @EnumSource(value = DenseNetPreset.class, names = {"DENSENET121", "DENSENET161", "DENSENET169"})
    void weightHoldingLayersAreTheKerasOnesInKerasOrder(DenseNetPreset preset) {
        int[] blocks = preset.config().blockLayers().stream().mapToInt(Integer::intValue).toArray();
        List<String> expected = kerasWeightNames(blocks);
        List<String> actual = weightHoldingLayers(DenseNetZooModel.of(preset).conf());
        assertEquals(expected, actual);
    }

    @ParameterizedTest
    @EnumSource(value = DenseNetPreset.class, names = {"DENSENET121", "DENSENET161"})
    void everyConcatPoolAndReluNameExists(DenseNetPreset preset) {
        ComputationGraphConfiguration conf = DenseNetZooModel.of(preset).conf();
        Set<String> vertices = conf.getVertices().keySet();
        List<Integer> blocks = preset.config().blockLayers();
        List<String> expected = new ArrayList<>(List.of("relu1", "pool1"));
        for (int b = 0; b < blocks.size(); b++) {
            int stage = b + 2;
            for (int branch = 1; branch <= blocks.get(b); branch++) {
                expected.add("concat_" + stage + "_" + branch);
                expected.add("relu" + stage + "_" + branch + "_x1");
                expected.add("relu" + stage + "_" + branch + "_x2");
            }
            expected.add("relu" + stage + "_blk");
            expected.add("pool" + stage);
        }
        for (String name : expected) {
            assertTrue(vertices.contains(name), () -> "missing vertex " + name);
        }
        assertEquals(List.of("fc6"), conf.getNetworkOutputs());
        assertEquals(List.of("data"), conf.getNetworkInputs());
    }
}
