package org.densenet4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.densenet4j.keras.Fixtures;
import org.densenet4j.zoo.io.ModelFiles;
import org.densenet4j.zoo.io.StoppedWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code densenet convert} killed with SIGKILL never leaves a half-written model: the target is
 * afterwards absent, or the model it held before, or the whole new one, and it passes its checksum.
 * One kill provably lands in the middle of the zip (the writer stops itself there and waits to be
 * killed); others land wherever the machine's speed puts them, and every outcome they may have is
 * checked. Temporary files a killed conversion leaves are deleted by the next one.
 */
class ConvertKillTest {

    private static final long PARAMS = 8062504; // DenseNet-121 with 4 classes

    @TempDir
    Path dir;

    @Test
    void aConversionKilledInTheMiddleOfTheZipLeavesNoModelAndTheNextOneCleansUp() throws Exception {
        Path out = dir.resolve("m.zip");
        kill(start(StoppedCli.class, out, "bytes:1000000"));
        assertFalse(Files.exists(out), "a conversion killed in the middle of its zip left " + out);
        assertFalse(tempFiles(out).isEmpty(), "the killed conversion had no temporary file to leave");

        Process again = start(DenseNetCli.class, out, null);
        assertEquals(0, again.waitFor(), log(out));
        assertEquals(PARAMS, ModelFiles.read(out, true).numParams());
        assertEquals(List.of(), tempFiles(out), "the next conversion deletes what the killed one left");
    }

    @Test
    void aConversionKilledWhileReplacingAModelKeepsTheOldOne() throws Exception {
        Path out = dir.resolve("m.zip");
        assertEquals(0, start(DenseNetCli.class, out, null).waitFor(), log(out));
        String before = ModelFiles.sha256(out);
        kill(start(StoppedCli.class, out, "bytes:1000000", "--force"));
        assertEquals(before, ModelFiles.sha256(out), "the model the conversion would have replaced changed");
        assertEquals(PARAMS, ModelFiles.read(out, true).numParams());
    }

    @Test
    void aConversionKilledAtAnyMomentLeavesNothingOrAWholeModel() throws Exception {
        for (long afterTempMs : new long[] {0, 150, 600}) {
            Path out = dir.resolve("m" + afterTempMs + ".zip");
            Process p = start(DenseNetCli.class, out, null);
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
            while (p.isAlive() && tempFiles(out).isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            if (!p.waitFor(afterTempMs, TimeUnit.MILLISECONDS)) {
                p.destroyForcibly(); // SIGKILL, wherever the conversion has got to
                p.waitFor();
            }
            // Both outcomes are legal; a third (a target that does not read back whole) is not.
            if (Files.exists(out)) {
                assertEquals(PARAMS, ModelFiles.read(out, true).numParams(), "killed " + afterTempMs
                        + " ms after its temporary file appeared, the conversion left a model that does not read back");
            }
        }
    }

    private List<Path> tempFiles(Path out) throws IOException {
        try (var files = Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().startsWith("." + out.getFileName())
                    && f.getFileName().toString().endsWith(".part")).toList();
        }
    }

    private void kill(Process p) throws Exception {
        StoppedWriter.killWhenStopped(p, dir.resolve("stopped"), dir.resolve("convert.log"));
        Files.deleteIfExists(dir.resolve("stopped"));
    }

    private String log(Path out) throws IOException {
        return Files.readString(dir.resolve("convert.log"));
    }

    /** {@code densenet convert} of the fixture into {@code out}, run by {@code main} ({@code stop}: where it stops). */
    private Process start(Class<?> main, Path out, String stop, String... flags) throws IOException {
        Path weights = Fixtures.get("densenet121", "keras1-tf", 224, 224, 4).weights();
        List<String> args = new ArrayList<>();
        if (stop != null) {
            args.addAll(List.of(stop, dir.resolve("stopped").toString()));
        }
        args.addAll(List.of("convert", "--weights", weights.toString(), "--out", out.toString()));
        args.addAll(List.of(flags));
        assertTrue(Files.exists(weights));
        return StoppedWriter.start(main, dir.resolve("convert.log"), args.toArray(String[]::new));
    }
}
