package org.densenet4j.zoo.fcn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.densenet4j.zoo.DenseNetConfig;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.learning.config.Adam;

/**
 * An FC-DenseNet's architecture as JSON: it reads back as it was written, keys left out keep the
 * defaults given, wrong keys and values are refused by name, and a DenseNet's reader and an
 * FC-DenseNet's refuse each other's architecture instead of misreading it (their keys overlap).
 */
class FcDenseNetJsonTest {

    @Test
    void everyPresetReadsBackFromItsJson() {
        for (FcDenseNetPreset p : FcDenseNetPreset.values()) {
            FcDenseNetConfig c = p.config();
            assertEquals(c, FcDenseNetConfig.fromJson(c.toJson()).training(c.training()).build(), p.id());
        }
        FcDenseNetConfig small = FcDenseNetConfig.builder().initialFilters(24).growthRate(8)
                .blockLayers(3, 3, 3, 3, 3, 3, 3).dropoutRate(0).bnEpsilon(1e-3).numClasses(11)
                .inputShape(64, 48, 1).build();
        assertEquals(small, FcDenseNetConfig.fromJson(small.toJson()).build());
    }

    @Test
    void theJsonNamesItsFamilyAndHoldsNoTrainingSettings() {
        String json = FcDenseNetConfig.builder().seed(99).updater(new Adam(1e-3)).weightDecay(0.5).build().toJson();
        assertTrue(json.contains("\"family\" : \"fc-densenet\""), json);
        assertFalse(json.contains("seed") || json.contains("updater") || json.contains("weightDecay"), json);
        assertEquals(FcDenseNetConfig.builder().build(), FcDenseNetConfig.fromJson(json).build());
    }

    @Test
    void keysLeftOutKeepTheDefaultsGiven() {
        String partial = "{\"growthRate\": 8, \"blockLayers\": [2, 2, 2]}";
        FcDenseNetConfig fromDefault = FcDenseNetConfig.fromJson(partial).build();
        assertEquals(FcDenseNetPreset.FC_DENSENET103.config().initialFilters(), fromDefault.initialFilters());
        FcDenseNetConfig c56 = FcDenseNetPreset.FC_DENSENET56.config();
        FcDenseNetConfig from56 = FcDenseNetConfig.fromJson(partial, c56.toBuilder()).build();
        assertEquals(8, from56.growthRate());
        assertEquals(List.of(2, 2, 2), from56.blockLayers());
        assertEquals(c56.inputHeight(), from56.inputHeight());
        assertEquals(c56.dropoutRate(), from56.dropoutRate());
    }

    @Test
    void unknownKeysBadValuesAndOtherFamiliesAreRefusedByName() {
        assertRefused("{\"growth\": 12}", "unknown key 'growth' in an FC-DenseNet architecture");
        assertRefused("{\"compression\": 0.5}", "unknown key 'compression'");
        assertRefused("{\"growthRate\": 12.5}", "key 'growthRate' must be an integer, was 12.5");
        assertRefused("{\"blockLayers\": 4}", "key 'blockLayers' must be an array of integers");
        assertRefused("{\"dropoutRate\": \"0.2\"}", "key 'dropoutRate' must be a number");
        assertRefused("{\"input\": [64, 64]}", "key 'input' must be [height, width, channels]");
        assertRefused("{\"family\": \"densenet\"}", "key 'family' must be \"fc-densenet\"");
        assertRefused("{\"growthRate\": 1, \"growthRate\": 2}", "growthRate");
        assertRefused("[]", "not a JSON object of an FC-DenseNet architecture");
        IllegalArgumentException range = assertThrows(IllegalArgumentException.class,
                () -> FcDenseNetConfig.fromJson("{\"blockLayers\": [4, 4]}").build());
        assertTrue(range.getMessage().contains("blockLayers must have 2 * pools + 1 entries"), range.getMessage());

        String fc = FcDenseNetPreset.FC_DENSENET56.config().toJson();
        IllegalArgumentException asDenseNet = assertThrows(IllegalArgumentException.class,
                () -> DenseNetConfig.fromJson(fc));
        assertTrue(asDenseNet.getMessage().contains("unknown key 'family' in a DenseNet architecture"),
                asDenseNet.getMessage());
        String dense = DenseNetConfig.builder().build().toJson();
        IllegalArgumentException asFc = assertThrows(IllegalArgumentException.class,
                () -> FcDenseNetConfig.fromJson(dense));
        assertTrue(asFc.getMessage().contains("unknown key"), asFc.getMessage());
    }

    private static void assertRefused(String json, String message) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> FcDenseNetConfig.fromJson(json).build());
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }
}
