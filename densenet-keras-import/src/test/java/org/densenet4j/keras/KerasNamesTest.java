package org.densenet4j.keras;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;

import org.densenet4j.keras.KerasDenseNetImporter.Role;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** keras.applications' layer names of every generation map to the same zoo layers. */
class KerasNamesTest {

    /**
     * Today's names (keras-team/keras-applications keras_applications/densenet.py at d0c13ac2 and
     * later; tf.keras' predictions), the slashed names of the files before 2018-07, Keras 3's
     * (keras-team/keras keras/src/applications/densenet.py: conv1_conv, conv1_bn).
     */
    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
        "conv1/conv, conv1", "conv1_conv, conv1",
        "conv1/bn, conv1_bn", "conv1_bn, conv1_bn",
        "conv2_block1_0_bn, conv2_1_x1_bn", "conv2/block1/0/bn, conv2_1_x1_bn",
        "conv3_block12_1_conv, conv3_12_x1", "conv3/block12/1/conv, conv3_12_x1",
        "conv4_block24_1_bn, conv4_24_x2_bn", "conv4/block24/1/bn, conv4_24_x2_bn",
        "conv5_block16_2_conv, conv5_16_x2", "conv5/block16/2/conv, conv5_16_x2",
        "pool2_bn, conv2_blk_bn", "pool2/bn, conv2_blk_bn",
        "pool4_conv, conv4_blk", "pool4/conv, conv4_blk",
        "bn, conv5_blk_bn", "fc1000, fc6", "predictions, fc6",
    })
    void everyGenerationMapsToTheZooLayer(String keras2, String zoo) {
        assertEquals(Optional.of(zoo), KerasNames.keras2ToZoo(keras2, 5));
    }

    @Test
    void othersHaveNoRuleAndOnlyKerasApplicationsNamesAreTelling() {
        assertEquals(Optional.empty(), KerasNames.keras2ToZoo("conv2_1_x1_bn", 5), "a Keras 1 (seed) name");
        assertEquals(Optional.empty(), KerasNames.keras2ToZoo("conv2/block1/0/relu", 5), "weightless");
        assertTrue(KerasNames.isKeras2Name("conv2/block1/0/bn"));
        assertTrue(KerasNames.isKeras2Name("conv1_conv"));
        assertFalse(KerasNames.isKeras2Name("conv1_bn"), "the seed's files have it too");
        assertFalse(KerasNames.isKeras2Name("conv2_1_x1"));
        assertEquals(5, KerasNames.keras2FinalStage(List.of("pool2/conv", "pool3/conv", "pool4/conv")));
        assertEquals(5, KerasNames.keras2FinalStage(List.of("pool2_conv", "pool4_conv", "bn")));
    }

    @Test
    void aWeightsRoleIsTheLastPartOfItsName() {
        for (String name : List.of("conv1/bn/moving_variance:0", "densenet121/conv1/bn/moving_variance:0",
                "conv1/bn/moving_variance", "model_1/conv1/bn_1/moving_variance:0")) {
            assertEquals(Role.VARIANCE, Role.of("conv1/bn", name), name);
        }
        assertEquals(Role.KERNEL, Role.of("fc1000", "fc1000/kernel:0"));
        assertEquals(Role.BIAS, Role.of("fc1000", "densenet121/fc1000/bias:0"));
        assertNull(Role.of("conv1/bn", "conv1/bn/momentum:0"));
    }
}
