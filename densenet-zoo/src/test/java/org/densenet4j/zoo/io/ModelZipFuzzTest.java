package org.densenet4j.zoo.io;

import org.densenet4j.zoo.DenseNetZooModel;
import org.densenet4j.zoo.TinyNets;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.testing.ByteMutator;
import org.densenet4j.testing.Fuzz;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Damaged model zips, read without their checksum file (with it, any change fails the checksum):
 * each reads with identical parameters or fails as an IOException naming the file.
 */
class ModelZipFuzzTest {


    @TempDir
    Path dir;

    @Test
    void damagedZipsReadIdenticallyOrFailAsIOException() throws Exception {
        ComputationGraph net = new DenseNetZooModel("tiny", TinyNets.tinyBc().build()).init();
        Path original = dir.resolve("tiny.zip");
        ModelFiles.write(net, original, false);
        byte[] bytes = Files.readAllBytes(original);

        ByteMutator mutator = new ByteMutator(Fuzz.SEED);
        Path zip = dir.resolve("case.zip");
        try (Fuzz fuzz = new Fuzz("Model zip fuzz", "densenet-zoo", ModelZipFuzzTest.class, 30, Set.of("same",
                "rejected"))) {
            for (int i = 0; i < Fuzz.CASES; i++) {
                ByteMutator.Mutation m = mutator.mutate(bytes, i);
                Files.write(zip, m.bytes());
                fuzz.run(m.kind(), zip, () -> {
                    try {
                        ComputationGraph back = ModelFiles.read(zip, false);
                        return back.params().equals(net.params())
                                && back.getConfiguration().equals(net.getConfiguration())
                                ? "same" : "LIED";
                    } catch (IOException e) {
                        return e.getMessage() != null && e.getMessage().startsWith(zip.toString()) ? "rejected"
                                : "BAD_MESSAGE " + e;
                    }
                });
            }
            System.out.println(fuzz.report());
            assertTrue(fuzz.broken().isEmpty(), String.join("\n", fuzz.broken()));
        }
    }
}
