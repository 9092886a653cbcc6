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
        int killedBeforeTheEnd = 0;
        int completed = 0;
        long[] delaysMs = {300, 1500, 2500, 3500, 4500, 6000};
        for (long delay : delaysMs) {
            Path out = dir.resolve("m" + delay + ".zip");
            Process p = new ProcessBuilder(List.of(java, "-cp", System.getProperty("java.class.path"),
                    DenseNetCli.class.getName(), "convert", "--weights", weights.toString(), "--out", out.toString()))
                    .redirectErrorStream(true).redirectOutput(dir.resolve("log" + delay).toFile()).start();
            boolean finished = p.waitFor(delay, TimeUnit.MILLISECONDS);
            if (!finished) {
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
        System.out.println("SIGKILL during conversion: " + killedBeforeTheEnd + " killed, " + completed + " completed");
        assertTrue(killedBeforeTheEnd >= 3, "most runs should have been killed part-way");
    }
}
