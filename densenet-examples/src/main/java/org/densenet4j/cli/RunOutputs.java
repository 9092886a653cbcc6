package org.densenet4j.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

import org.densenet4j.training.Checkpoint;

import picocli.CommandLine.Option;

/**
 * What a resumable training run writes and how it treats what is there already (a picocli mixin
 * of {@code --out}, {@code --force} and {@code --resume}): the model zip, files beside it, and the
 * checkpoint written after every epoch. {@code train}, {@code train-segmentation}, {@code finetune}
 * and {@code spark-train} take these the same way and refuse the same things.
 */
public final class RunOutputs {

    @Option(names = "--out", required = true, description = "The model zip to write.")
    public Path out;

    @Option(names = "--force", description = "Replace existing output files (and an earlier run's checkpoint).")
    public boolean force;

    @Option(names = "--resume", description = "Continue the run whose checkpoint (<out>-checkpoint.zip, written after "
            + "every epoch) is there; the settings must be the same.")
    public boolean resume;

    /** A file beside the model zip: {@code <out without .zip><suffix>}. */
    public Path sibling(String suffix) {
        String name = out.getFileName().toString().replaceFirst("\\.zip$", "");
        return out.resolveSibling(name + suffix);
    }

    /** The checkpoint written after every epoch, {@code <out without .zip>-checkpoint.zip}. */
    public Path checkpoint() {
        return sibling("-checkpoint.zip");
    }

    /**
     * Fails with one line, before any work, when the model zip or one of {@code siblings} (suffixes
     * for {@link #sibling}) exists without {@code --force}, or an earlier run's checkpoint is there
     * without {@code --resume} or {@code --force}.
     */
    public void refuseToOverwrite(String... siblings) {
        refuseIfExists(out);
        for (String suffix : siblings) {
            refuseIfExists(sibling(suffix));
        }
        if (Files.exists(checkpoint()) && !resume && !force) {
            throw new UserError(checkpoint() + ": an earlier run stopped here; pass --resume to continue it or "
                    + "--force to start over");
        }
    }

    /**
     * The earlier run in {@code checkpoint} when {@code --resume} was given and it is there; empty
     * for a fresh start. A checkpoint that cannot be read, or was written with other settings, fails
     * with its one-line reason.
     */
    public Optional<Checkpoint.Resumed> resumed(Checkpoint checkpoint) {
        if (!resume || !checkpoint.exists()) {
            return Optional.empty();
        }
        try {
            return Optional.of(checkpoint.resume());
        } catch (IOException e) {
            throw new UserError(e.getMessage(), e);
        }
    }

    private void refuseIfExists(Path p) {
        if (Files.exists(p) && !force) {
            throw new UserError(p + ": exists; pass --force to replace it");
        }
    }
}
