package org.densenet4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.densenet4j.keras.Fixtures;
import org.densenet4j.zoo.ModelFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A conversion killed with SIGKILL at any moment leaves nothing at the target path, or the complete model. */
class ConvertKillTest {

    @TempDir
    Path dir;

    @Test
    void killedConversionNeverLeavesAHalfWrittenModel() throws Exception {
        Path weights = Fixtures.get("densenet121", "keras1-tf", 224, 224, 4).weights();
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        // One whole conversion, timed, then kills spread over that time, most near the end where
        // the zip is written, read back and renamed.
        long full = System.nanoTime();
        Process first = start(java, weights, dir.resolve("whole.zip"));
        assertEquals(0, first.waitFor(), "an undisturbed conversion succeeds");
        long fullMs = (System.nanoTime() - full) / 1_000_000;
        assertEquals(8062504, ModelFiles.read(dir.resolve("whole.zip"), true).numParams());

        int killedBeforeTheEnd = 0;
        int completed = 0;
        double[] fractions = {0.5, 0.8, 0.9, 0.95, 0.98};
        for (double fraction : fractions) {
            Path out = dir.resolve("m" + (int) (fraction * 100) + ".zip");
            Process p = start(java, weights, out);
            if (!p.waitFor((long) (fullMs * fraction), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly(); // SIGKILL
                p.waitFor();
                killedBeforeTheEnd++;
            } else {
                completed++;
            }
            if (Files.exists(out)) {
                // Whatever is at the target path is a whole model that passes its checksum.
                assertEquals(8062504, ModelFiles.read(out, true).numParams(), "model at " + out);
            }
        }
        System.out.println("SIGKILL during conversion (" + fullMs + " ms undisturbed): " + killedBeforeTheEnd
                + " killed, " + completed + " completed");
        assertTrue(killedBeforeTheEnd >= 2, "runs should have been killed part-way");
    }

    private Process start(String java, Path weights, Path out) throws java.io.IOException {
        return new ProcessBuilder(List.of(java, "-cp", System.getProperty("java.class.path"),
                DenseNetCli.class.getName(), "convert", "--weights", weights.toString(), "--out", out.toString()))
                .redirectErrorStream(true).redirectOutput(dir.resolve(out.getFileName() + ".log").toFile()).start();
    }
}
