package org.densenet4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.densenet4j.keras.Fixtures;
import org.densenet4j.zoo.io.ModelFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A conversion killed with SIGKILL while it writes the model leaves nothing at the target path. The
 * kill is timed from the moment the temporary file appears, so it lands in the write, read-back and
 * rename phase whatever the machine's speed.
 */
class ConvertKillTest {

    @TempDir
    Path dir;

    @Test
    void killedConversionNeverLeavesAHalfWrittenModel() throws Exception {
        Path weights = Fixtures.get("densenet121", "keras1-tf", 224, 224, 4).weights();
        int killedWhileWriting = 0;
        for (long afterTempMs : new long[] {0, 200, 600}) {
            Path out = dir.resolve("m" + afterTempMs + ".zip");
            Process p = start(weights, out);
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
            while (p.isAlive() && !hasTempFile(out) && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            boolean writing = hasTempFile(out);
            if (!p.waitFor(afterTempMs, TimeUnit.MILLISECONDS)) {
                p.destroyForcibly(); // SIGKILL
                p.waitFor();
                killedWhileWriting += writing ? 1 : 0;
                assertFalse(Files.exists(out), "a killed conversion left " + out);
            } else {
                assertEquals(8062504, ModelFiles.read(out, true).numParams(), "a completed conversion wrote " + out);
            }
        }
        System.out.println("SIGKILL while writing the model: " + killedWhileWriting + " of 3 runs");
        assertTrue(killedWhileWriting >= 1, "at least one run should have been killed while writing");

        // The same command, undisturbed, writes a whole model.
        Path whole = dir.resolve("whole.zip");
        assertEquals(0, start(weights, whole).waitFor());
        assertEquals(8062504, ModelFiles.read(whole, true).numParams());
    }

    private boolean hasTempFile(Path out) throws IOException {
        try (var files = Files.list(dir)) {
            return files.anyMatch(f -> f.getFileName().toString().startsWith("." + out.getFileName())
                    && f.getFileName().toString().endsWith(".part"));
        }
    }

    private Process start(Path weights, Path out) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        return new ProcessBuilder(List.of(java, "-cp", System.getProperty("java.class.path"),
                DenseNetCli.class.getName(), "convert", "--weights", weights.toString(), "--out", out.toString()))
                .redirectErrorStream(true).redirectOutput(dir.resolve(out.getFileName() + ".log").toFile()).start();
    }
}
