package org.densenet4j.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.densenet4j.zoo.DenseNetConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A settings file is the library's architecture JSON (plus an optional weightDecay), refused by name when wrong. */
class ArchitectureTest {

    @TempDir
    Path dir;

    @Test
    void theFashionMnistSettingsFileReads() throws Exception {
        Architecture a = Architecture.of(Path.of("..", "models", "densenet-fmnist.json").toString());
        assertEquals("densenet-fmnist", a.name());
        DenseNetConfig c = a.config().build();
        assertEquals(DenseNetConfig.fromJson(Files.readString(Path.of("..", "models", "densenet-fmnist.json")))
                .build(), c);
        assertEquals(12, c.growthRate());
    }

    @Test
    void weightDecayIsTakenAndWrongSettingsAreNamed() throws Exception {
        Path decay = Files.writeString(dir.resolve("d.json"), "{\"growthRate\": 12, \"weightDecay\": 0.001}");
        assertEquals(0.001, Architecture.configFile(decay).build().training().weightDecay());
        Path unknown = Files.writeString(dir.resolve("u.json"), "{\"growthrate\": 12}");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Architecture.configFile(unknown));
        assertTrue(e.getMessage().startsWith(unknown + ": unknown key 'growthrate'"), e.getMessage());
        Path wrong = Files.writeString(dir.resolve("w.json"), "{\"weightDecay\": \"high\"}");
        e = assertThrows(IllegalArgumentException.class, () -> Architecture.configFile(wrong));
        assertTrue(e.getMessage().contains("key 'weightDecay' must be a number"), e.getMessage());
        Path list = Files.writeString(dir.resolve("l.json"), "[]");
        e = assertThrows(IllegalArgumentException.class, () -> Architecture.configFile(list));
        assertTrue(e.getMessage().contains("not a JSON object"), e.getMessage());
    }
}
