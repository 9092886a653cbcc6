package org.densenet4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.densenet4j.testing.ByteMutator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** .npy files: a round trip is exact, and damaged files read identically, with bounded changes, or fail as IOException. */
class NpyFuzzTest {

    private static final int CASES = Integer.getInteger("densenet.fuzz.cases", 300);
    private static final long SEED = Long.getLong("densenet.fuzz.seed", 20261122L);

    @TempDir
    Path dir;

    @Test
    void roundTripIsExactAndAtomic() throws IOException {
        INDArray x = Nd4j.rand(DataType.FLOAT, 2, 3, 5, 7);
        Path f = dir.resolve("x.npy");
        Npy.write(x, f);
        assertEquals(x, Npy.read(f));
        try (var files = Files.list(dir)) {
            assertEquals(1, files.count(), "no temporary file is left");
        }
        INDArray v = Nd4j.create(new float[] {1, 2, 3}, new long[] {3});
        Npy.write(v, f);
        assertArrayEquals(new long[] {3}, Npy.read(f).shape());
    }

    @Test
    void damagedFilesReadTheSameOrFailAsIOException() throws IOException {
        INDArray x = Nd4j.rand(DataType.FLOAT, 2, 3, 16, 16);
        Path original = dir.resolve("x.npy");
        Npy.write(x, original);
        byte[] bytes = Files.readAllBytes(original);
        float[] values = x.data().asFloat();

        ByteMutator mutator = new ByteMutator(SEED);
        Map<String, Integer> outcomes = new TreeMap<>();
        List<String> broken = new ArrayList<>();
        Path f = dir.resolve("case.npy");
        for (int i = 0; i < CASES; i++) {
            ByteMutator.Mutation m = mutator.mutate(bytes, i);
            Files.write(f, m.bytes());
            String outcome;
            try {
                INDArray y = Npy.read(f);
                int changed = 0;
                if (!java.util.Arrays.equals(y.shape(), x.shape())) {
                    changed = Integer.MAX_VALUE;
                } else {
                    float[] read = y.data().asFloat();
                    for (int k = 0; k < read.length; k++) {
                        changed += Float.floatToIntBits(read[k]) != Float.floatToIntBits(values[k]) ? 1 : 0;
                    }
                }
                outcome = changed == 0 ? "same" : changed <= m.changedFloats() ? "changed values" : "LIED";
            } catch (IOException e) {
                outcome = e.getMessage() != null && e.getMessage().startsWith(f.toString()) ? "rejected" : "BAD MESSAGE";
            } catch (Throwable e) {
                outcome = "CRASHED " + e;
            }
            outcomes.merge(m.kind() + ": " + outcome.replaceFirst(" .*", ""), 1, Integer::sum);
            if (!outcome.equals("same") && !outcome.equals("changed values") && !outcome.equals("rejected")) {
                broken.add(m.kind() + " -> " + outcome);
            }
        }
        System.out.println(".npy fuzz, " + CASES + " cases, seed " + SEED + ": " + outcomes);
        assertTrue(broken.isEmpty(), String.join("\n", broken));
    }
}
