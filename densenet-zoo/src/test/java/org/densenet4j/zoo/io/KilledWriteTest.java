package org.densenet4j.zoo.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A process killed with SIGKILL at each point of {@link ModelFiles#write} (in the middle of the zip,
 * after it, with the checksum file widened, after the rename) leaves a target that is either absent
 * or a whole model that passes its checksum: the old one or the new one, never a mix. The kill lands
 * where the writer stopped itself (a test seam), not after a delay, so it does not depend on the
 * machine's speed. The next write to the target deletes the dead writer's temporary files.
 */
class KilledWriteTest {

    private static final long OLD_SEED = 1;
    private static final long NEW_SEED = 2;

    @TempDir
    Path dir;

    @ParameterizedTest(name = "killed at {0}, replacing an existing model: {1}")
    @CsvSource({
        "bytes:2048, false, absent",
        "FILLED, false, absent",
        "CHECKSUMS_WIDENED, false, absent",
        "RENAMED, false, new",
        "bytes:2048, true, old",
        "FILLED, true, old",
        "CHECKSUMS_WIDENED, true, old",
        "RENAMED, true, new"})
    void aKilledWriteLeavesTheOldModelOrTheNewOneWhole(String stop, boolean replacing, String expected)
            throws Exception {
        Path target = dir.resolve("model.zip");
        if (replacing) {
            ModelFiles.write(StoppedWriter.tiny(OLD_SEED), target, false);
        }
        Path marker = dir.resolve("stopped");
        Path log = dir.resolve("writer.log");
        Process p = StoppedWriter.start(StoppedWriter.class, log, stop, marker.toString(), target.toString(),
                Long.toString(NEW_SEED));
        StoppedWriter.killWhenStopped(p, marker, log);

        switch (expected) {
            case "absent" -> assertFalse(Files.exists(target), "a write killed at " + stop + " left " + target);
            case "old" -> assertParams(OLD_SEED, ModelFiles.read(target, true), stop);
            case "new" -> assertParams(NEW_SEED, ModelFiles.read(target, true), stop);
            default -> throw new IllegalArgumentException(expected);
        }
        if (!stop.equals("RENAMED")) {
            assertTrue(tempFiles().size() > 0, "the writer was killed before it could delete its temporary file");
        }

        // The next write succeeds, leaves the new model, and deletes what the dead writer left.
        ModelFiles.write(StoppedWriter.tiny(3), target, true);
        assertParams(3, ModelFiles.read(target, true), "the next write");
        assertEquals(List.of(), tempFiles(), "temporary files left beside " + target);
        assertEquals(1, Files.readAllLines(ModelFiles.checksumFile(target)).size(), "one sum once a write completes");
    }

    private List<Path> tempFiles() throws Exception {
        try (var files = Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".part")).toList();
        }
    }

    private static void assertParams(long seed, ComputationGraph read, String when) {
        INDArray expected = StoppedWriter.tiny(seed).params();
        assertEquals(expected, read.params(), "after a kill at " + when + ": not the model of seed " + seed);
    }
}
