package org.densenet4j.zoo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.learning.config.Adam;

/**
 * The architecture apart from the training settings: its JSON form reads back as it was written,
 * refuses unknown keys and wrong values by name, and two configurations that differ only in their
 * {@link TrainingSettings} have the same architecture.
 */
class ConfigJsonTest {

    @Test
    void everyPresetReadsBackFromItsJson() {
        for (DenseNetPreset p : DenseNetPreset.values()) {
            DenseNetConfig c = p.config();
            assertEquals(c, DenseNetConfig.fromJson(c.toJson()).training(c.training()).build(), p.id());
        }
        DenseNetConfig headless = DenseNetConfig.builder().headless(DenseNetConfig.Pooling.MAX).dropoutRate(0.2)
                .convBias(true).inputShape(64, 48, 1).bnEpsilon(1e-3).build();
        assertEquals(headless, DenseNetConfig.fromJson(headless.toJson()).build());
    }

    @Test
    void theJsonHoldsNoTrainingSettings() {
        String json = DenseNetConfig.builder().seed(99).updater(new Adam(1e-3)).weightDecay(0.5).build().toJson();
        assertFalse(json.contains("seed") || json.contains("updater") || json.contains("weightDecay"), json);
        assertEquals(DenseNetConfig.builder().build(), DenseNetConfig.fromJson(json).build());
    }

    @Test
    void theCliSettingsFileIsAPartialArchitecture() throws Exception {
        DenseNetConfig c = DenseNetConfig.fromJson(Files.readString(Path.of("..", "models", "densenet-fmnist.json")))
                .build();
        assertEquals(DenseNetConfig.Stem.CIFAR, c.stem());
        assertEquals(java.util.List.of(6, 6, 6), c.blockLayers());
        assertEquals(224, c.inputHeight(), "keys it lacks keep DenseNet-121's values");
        assertEquals(0.75, DenseNetConfig.fromJson("{\"reduction\": 0.25}").build().compression());
    }

    @Test
    void unknownKeysAndBadValuesAreRefusedByName() {
        assertRefused("{\"growthrate\": 12}", "unknown key 'growthrate'");
        assertRefused("{\"seed\": 1}", "unknown key 'seed'");
        assertRefused("{\"growthRate\": 12.5}", "key 'growthRate' must be an integer, was 12.5");
        assertRefused("{\"growthRate\": \"12\"}", "key 'growthRate' must be an integer");
        assertRefused("{\"blockLayers\": [6, \"x\"]}", "key 'blockLayers' must be an array of integers");
        assertRefused("{\"bottleneck\": 1}", "key 'bottleneck' must be true or false, was 1");
        assertRefused("{\"stem\": \"VGG\"}", "key 'stem' must be one of [IMAGENET, CIFAR], was \"VGG\"");
        assertRefused("{\"input\": [32, 32]}", "key 'input' must be [height, width, channels]");
        assertRefused("{\"growthRate\": 1, \"growthRate\": 2}", "growthRate");
        assertRefused("[1, 2]", "not a JSON object");
        assertRefused("{\"growthRate\": ", "not a JSON object");
        IllegalArgumentException range = assertThrows(IllegalArgumentException.class,
                () -> DenseNetConfig.fromJson("{\"growthRate\": 0}").build());
        assertTrue(range.getMessage().contains("growthRate must be > 0, was 0"), range.getMessage());
    }

    @Test
    void trainingSettingsAreNotTheArchitecture() {
        DenseNetConfig preset = DenseNetPreset.DENSENET121.config();
        DenseNetConfig reseeded = preset.toBuilder().seed(7).updater(new Adam(1e-3)).weightDecay(0).build();
        assertTrue(preset.sameArchitecture(reseeded));
        assertFalse(preset.equals(reseeded));
        assertEquals(new TrainingSettings(new Adam(1e-3), 0, 7), reseeded.training());
        assertFalse(preset.sameArchitecture(preset.toBuilder().numClasses(5).build()));
        assertFalse(preset.sameArchitecture(preset.toBuilder().dropoutRate(0.1).build()), "dropout adds layers");
        assertEquals(preset, reseeded.withTraining(preset.training()));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new TrainingSettings(new Adam(), Double.NaN, 1));
        assertTrue(e.getMessage().contains("weightDecay must be a finite value >= 0"), e.getMessage());
    }

    private static void assertRefused(String json, String message) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DenseNetConfig.fromJson(json).build());
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }
}
