package org.densenet4j.examples.segmentation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.densenet4j.zoo.fcn.FcDenseNetConfig;
import org.densenet4j.zoo.fcn.FcDenseNetPreset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code train-segmentation --model}: a preset id, or a JSON file of an FC-DenseNet's settings. */
class FcDenseNetSpecTest {

    @TempDir
    Path dir;

    @Test
    void aPresetIdIsThePreset() throws Exception {
        FcDenseNetSpec spec = FcDenseNetSpec.of("fc-densenet67");
        assertEquals("fc-densenet67", spec.name());
        assertEquals(FcDenseNetPreset.FC_DENSENET67.config(), spec.config());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> FcDenseNetSpec.of("fc-57"));
        assertTrue(e.getMessage().contains("fc-densenet56"), "lists the known ids: " + e.getMessage());
    }

    @Test
    void aSettingsFileKeepsFcDenseNet56sValuesForTheKeysItLeavesOut() throws Exception {
        Path file = Files.writeString(dir.resolve("fc-small.json"),
                "{\"initialFilters\": 24, \"growthRate\": 8, \"blockLayers\": [3, 3, 3, 3, 3, 3, 3]}");
        FcDenseNetSpec spec = FcDenseNetSpec.of(file.toString());
        FcDenseNetConfig c56 = FcDenseNetPreset.FC_DENSENET56.config();
        assertEquals("fc-small", spec.name());
        assertEquals(24, spec.config().initialFilters());
        assertEquals(List.of(3, 3, 3, 3, 3, 3, 3), spec.config().blockLayers());
        assertEquals(c56.dropoutRate(), spec.config().dropoutRate());
        assertEquals(c56.bnEpsilon(), spec.config().bnEpsilon());
        assertEquals(c56.training(), spec.config().training());
    }

    @Test
    void aModelCardsArchitectureIsASettingsFile() throws Exception {
        FcDenseNetConfig trained = FcDenseNetPreset.FC_DENSENET56.config().toBuilder().growthRate(6)
                .inputShape(64, 64, 1).numClasses(11).build();
        Path file = Files.writeString(dir.resolve("card.json"), trained.toJson());
        assertEquals(trained, FcDenseNetSpec.of(file.toString()).config());
    }

    @Test
    void aBadFileIsNamedWithItsKey() throws Exception {
        Path typo = Files.writeString(dir.resolve("typo.json"), "{\"growth\": 8}");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> FcDenseNetSpec.of(typo.toString()));
        assertTrue(e.getMessage().startsWith(typo + ": unknown key 'growth'"), e.getMessage());
        Path range = Files.writeString(dir.resolve("range.json"), "{\"growthRate\": 0}");
        e = assertThrows(IllegalArgumentException.class, () -> FcDenseNetSpec.of(range.toString()));
        assertTrue(e.getMessage().startsWith(range + ": growthRate must be > 0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> FcDenseNetSpec.of(dir.resolve("missing.json").toString()));
        assertTrue(e.getMessage().endsWith("missing.json: no such settings file"), e.getMessage());
    }
}
