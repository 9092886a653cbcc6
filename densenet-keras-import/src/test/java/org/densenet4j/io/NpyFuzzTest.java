package org.densenet4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

import org.densenet4j.testing.ByteMutator;
import org.densenet4j.testing.Fuzz;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * .npy files: a round trip is exact, and damaged files read identically, with bounded changes, or fail as IOException.
 */
class NpyFuzzTest {


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
    void damagedFilesReadTheSameOrFailAsIOException() throws Exception {
        INDArray x = Nd4j.rand(DataType.FLOAT, 2, 3, 16, 16);
        Path original = dir.resolve("x.npy");
        Npy.write(x, original);
        byte[] bytes = Files.readAllBytes(original);
        float[] values = x.data().asFloat();

        ByteMutator mutator = new ByteMutator(Fuzz.SEED);
        Path f = dir.resolve("case.npy");
        try (Fuzz fuzz = new Fuzz(".npy fuzz", "densenet-keras-import", NpyFuzzTest.class, 10, Set.of("same", "changed",
                "rejected"))) {
            for (int i = 0; i < Fuzz.CASES; i++) {
                ByteMutator.Mutation m = mutator.mutate(bytes, i);
                Files.write(f, m.bytes());
                fuzz.run(m.kind(), f, () -> {
                    try {
                        INDArray y = Npy.read(f);
                        if (!java.util.Arrays.equals(y.shape(), x.shape())) {
                            return "LIED shape " + java.util.Arrays.toString(y.shape());
                        }
                        float[] read = y.data().asFloat();
                        int changed = 0;
                        for (int k = 0; k < read.length; k++) {
                            changed += Float.floatToIntBits(read[k]) != Float.floatToIntBits(values[k]) ? 1 : 0;
                        }
                        return changed == 0 ? "same" : changed <= m.changedFloats() ? "changed"
                                : "LIED " + changed + " values changed";
                    } catch (IOException e) {
                        return e.getMessage() != null && e.getMessage().startsWith(f.toString()) ? "rejected"
                                : "BAD_MESSAGE " + e;
                    }
                });
            }
            System.out.println(fuzz.report());
            assertTrue(fuzz.broken().isEmpty(), String.join("\n", fuzz.broken()));
        }
    }
}
