package org.densenet4j.keras;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fuzz test's base files are the same bytes on every run and every machine: a fixed seed then
 * means the same cases. Two fresh generations of each layout, and the files the fuzz test reads,
 * must all hash to the values recorded in {@code tools/fixtures/fuzz-bases.sha256}.
 */
class FuzzFixturesTest {

    @TempDir
    Path tmp;

    @Test
    void fuzzBaseFilesAreByteIdenticalAcrossGenerations() throws Exception {
        Map<String, String> recorded = recorded();
        assertEquals(java.util.Set.of(WeightFileFuzzTest.LAYOUTS), recorded.keySet().stream()
                .filter(k -> !k.startsWith("torch:")).collect(java.util.stream.Collectors.toSet()));
        for (String layout : WeightFileFuzzTest.LAYOUTS) {
            String first = sha256(Fixtures.generate("densenet-tiny", layout, 32, 32, 2, 5,
                    tmp.resolve(layout + "-1")).weights());
            String second = sha256(Fixtures.generate("densenet-tiny", layout, 32, 32, 2, 5,
                    tmp.resolve(layout + "-2")).weights());
            assertEquals(first, second, layout + ": two generations of the same fixture differ");
            assertEquals(recorded.get(layout), first, layout + ": the generated base file is not the recorded one "
                    + "(a changed generator, or a Python/h5py/HDF5 whose output differs)");
            assertEquals(first, sha256(Fixtures.get("densenet-tiny", layout, 32, 32, 2, 5).weights()),
                    layout + ": the fuzz test's cached base file differs from a fresh one");
        }
    }

    @Test
    void stateDictFuzzBaseFilesAreByteIdenticalAcrossGenerations() throws Exception {
        Map<String, String> recorded = recorded();
        Fixtures.TorchFixture first = Fixtures.generateTorch("densenet-tiny", 32, 32, 2, 5, tmp.resolve("torch-1"));
        Fixtures.TorchFixture second = Fixtures.generateTorch("densenet-tiny", 32, 32, 2, 5, tmp.resolve("torch-2"));
        Fixtures.TorchFixture cached = Fixtures.torch("densenet-tiny", 32, 32, 2, 5);
        for (java.util.function.Function<Fixtures.TorchFixture, Path> file
                : java.util.List.<java.util.function.Function<
                Fixtures.TorchFixture, Path>>of(Fixtures.TorchFixture::pth, Fixtures.TorchFixture::legacyPth,
                Fixtures.TorchFixture::safetensors)) {
            String name = file.apply(first).getFileName().toString();
            String hash = sha256(file.apply(first));
            assertEquals(hash, sha256(file.apply(second)), name + ": two generations of the same fixture differ");
            assertEquals(recorded.get("torch:" + name), hash,
                    name + ": the generated base file is not the recorded one "
                    + "(a changed generator, or a torch whose output differs)");
            assertEquals(hash, sha256(file.apply(cached)),
                    name + ": the fuzz test's cached base file differs from a fresh one");
        }
    }

    private static Map<String, String> recorded() throws IOException {
        Map<String, String> out = new LinkedHashMap<>();
        for (String line : Files.readAllLines(Fixtures.TOOLS.resolve("fuzz-bases.sha256"))) {
            if (!line.isBlank() && !line.startsWith("#")) {
                String[] parts = line.trim().split("\\s+");
                out.put(parts[1], parts[0]);
            }
        }
        return out;
    }

    private static String sha256(Path file) throws IOException, NoSuchAlgorithmException {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
    }
}
