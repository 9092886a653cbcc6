package org.densenet4j.zoo;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.testing.ByteMutator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Damaged model zips, read without their checksum file (with it, any change fails the checksum):
 * each reads with identical parameters or fails as an IOException naming the file.
 */
class ModelZipFuzzTest {

    private static final int CASES = Integer.getInteger("densenet.fuzz.cases", 300);
    private static final long SEED = Long.getLong("densenet.fuzz.seed", 20261122L);

    @TempDir
    Path dir;

    @Test
    void damagedZipsReadIdenticallyOrFailAsIOException() throws IOException {
        ComputationGraph net = new DenseNetZooModel("tiny", TinyNets.tinyBc().build()).init();
        Path original = dir.resolve("tiny.zip");
        ModelFiles.write(net, original, false);
        byte[] bytes = Files.readAllBytes(original);

        ByteMutator mutator = new ByteMutator(SEED);
        Map<String, Integer> outcomes = new TreeMap<>();
        List<String> broken = new ArrayList<>();
        Path zip = dir.resolve("case.zip");
        for (int i = 0; i < CASES; i++) {
            ByteMutator.Mutation m = mutator.mutate(bytes, i);
            Files.write(zip, m.bytes());
            String outcome;
            try {
                ComputationGraph back = ModelFiles.read(zip, false);
                outcome = back.params().equals(net.params()) && back.getConfiguration().equals(net.getConfiguration())
                        ? "same" : "LIED";
            } catch (IOException e) {
                outcome = e.getMessage() != null && e.getMessage().startsWith(zip.toString()) ? "rejected" : "BAD MESSAGE " + e;
            } catch (Throwable e) {
                outcome = "CRASHED " + e;
            }
            outcomes.merge(m.kind() + ": " + outcome.replaceFirst(" .*", ""), 1, Integer::sum);
            if (!outcome.equals("same") && !outcome.equals("rejected")) {
                broken.add(m.kind() + " -> " + outcome);
            }
        }
        System.out.println("Model zip fuzz, " + CASES + " cases, seed " + SEED + ": " + outcomes);
        assertTrue(broken.isEmpty(), String.join("\n", broken));
    }
}
