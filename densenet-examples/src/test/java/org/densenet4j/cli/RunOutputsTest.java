package org.densenet4j.cli;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.densenet4j.training.Checkpoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** The {@code --out}/{@code --force}/{@code --resume} rules every resumable training command shares. */
class RunOutputsTest {

    @Command(name = "run")
    static final class Run {
        @Mixin
        RunOutputs output;
    }

    @TempDir
    Path dir;

    private RunOutputs parse(String... args) {
        Run run = new Run();
        new CommandLine(run).parseArgs(args);
        return run.output;
    }

    @Test
    void theFilesBesideTheModelAreNamedAfterIt() {
        RunOutputs o = parse("--out", dir.resolve("fm.zip").toString());
        assertEquals(dir.resolve("fm-curves.csv"), o.sibling("-curves.csv"));
        assertEquals(dir.resolve("fm-checkpoint.zip"), o.checkpoint());
        assertEquals(dir.resolve("model-checkpoint.zip"), parse("--out", dir.resolve("model").toString()).checkpoint());
    }

    @Test
    void anExistingOutputIsReplacedOnlyWithForce() throws Exception {
        Path zip = dir.resolve("fm.zip");
        Files.writeString(dir.resolve("fm-curves.csv"), "kept");
        UserError e = assertThrows(UserError.class,
                () -> parse("--out", zip.toString()).refuseToOverwrite("-curves.csv"));
        assertEquals(dir.resolve("fm-curves.csv") + ": exists; pass --force to replace it", e.getMessage());
        assertDoesNotThrow(() -> parse("--out", zip.toString()).refuseToOverwrite(), "the CSV is not this run's");
        assertDoesNotThrow(() -> parse("--out", zip.toString(), "--force").refuseToOverwrite("-curves.csv"));

        Files.writeString(zip, "kept");
        assertThrows(UserError.class, () -> parse("--out", zip.toString(), "--resume").refuseToOverwrite(),
                "--resume continues a stopped run; it does not replace a finished one");
        assertEquals("kept", Files.readString(zip), "refusing touches nothing");
    }

    @Test
    void anEarlierRunsCheckpointNeedsResumeOrForce() throws Exception {
        Path zip = dir.resolve("fm.zip");
        Files.writeString(dir.resolve("fm-checkpoint.zip"), "an earlier run");
        UserError e = assertThrows(UserError.class, () -> parse("--out", zip.toString()).refuseToOverwrite());
        assertTrue(e.getMessage().startsWith(dir.resolve("fm-checkpoint.zip") + ": an earlier run stopped here"),
                e.getMessage());
        assertDoesNotThrow(() -> parse("--out", zip.toString(), "--resume").refuseToOverwrite());
        assertDoesNotThrow(() -> parse("--out", zip.toString(), "--force").refuseToOverwrite());
    }

    @Test
    void onlyResumeReadsTheCheckpointAndAnUnreadableOneSaysWhy() throws Exception {
        Path zip = dir.resolve("fm.zip");
        Checkpoint none = new Checkpoint(dir.resolve("fm-checkpoint.zip"), "settings");
        assertTrue(parse("--out", zip.toString(), "--resume").resumed(none).isEmpty(), "no checkpoint: a fresh start");

        Files.writeString(none.file(), "not a zip");
        assertTrue(parse("--out", zip.toString(), "--force").resumed(none).isEmpty(), "--force starts over");
        UserError e = assertThrows(UserError.class, () -> parse("--out", zip.toString(), "--resume").resumed(none));
        assertTrue(e.getMessage().contains("fm-checkpoint.zip"), e.getMessage());
    }

    @Test
    void theTrainingCommandsTakeTheMixin() {
        for (Object command : new Object[] {new TrainCommand(), new TrainSegmentationCommand(),
            new FinetuneCommand()}) {
            CommandLine cli = new CommandLine(command);
            for (String option : new String[] {"--out", "--force", "--resume"}) {
                assertTrue(cli.getCommandSpec().findOption(option) != null,
                        cli.getCommandName() + " takes " + option);
            }
        }
    }
}
