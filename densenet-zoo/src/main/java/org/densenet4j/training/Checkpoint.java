package org.densenet4j.training;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.zoo.io.ModelFiles;

/**
 * A training run's checkpoint, written after every epoch but the last: the model with its updater
 * state, the run's settings (a string that must match to resume), the epochs done, the random
 * stream (shuffles and augmentation continue exactly) and the epochs' results so far. Written
 * atomically, with its checksum.
 *
 * @param file     the checkpoint zip
 * @param settings the run's settings, as a string
 */
public record Checkpoint(Path file, String settings) {

    private static final String STATE = "densenet-train-state";

    /**
     * Where a run resumes: the model, the epochs done, the random stream, the results so far and
     * what else the run saved with them ({@link #save(ComputationGraph, int, Random, List, Map)}).
     */
    public record Resumed(ComputationGraph net, int epochsDone, Random random, List<Epoch> epochs,
                          Map<String, Object> extra) {
        /** A resumed run that saved nothing else. */
        public Resumed(ComputationGraph net, int epochsDone, Random random, List<Epoch> epochs) {
            this(net, epochsDone, random, epochs, Map.of());
        }
    }

    /** Whether there is a checkpoint to resume from. */
    public boolean exists() {
        return Files.exists(file);
    }

    /** Writes the state after {@code epoch}. */
    public void save(ComputationGraph net, int epoch, Random random, List<Epoch> epochs) throws IOException {
        save(net, epoch, random, epochs, Map.of());
    }

    /**
     * Writes the state after {@code epoch} with {@code extra}: results an {@link Epoch} has no place
     * for (for example a segmentation's mean IoU per epoch), as strings, boxed numbers, arrays and
     * java.util collections of them (what a model zip's objects may hold).
     */
    public void save(ComputationGraph net, int epoch, Random random, List<Epoch> epochs, Map<String, ?> extra)
            throws IOException {
        HashMap<String, Object> state = new HashMap<>();
        state.put("extra", new HashMap<>(extra));
        state.put("settings", settings);
        state.put("epochs done", epoch);
        state.put("random", random);
        state.put("curves", epochs.stream().map(e -> new double[] {e.epoch(), e.trainLoss(), e.trainAccuracy(),
                e.testLoss(), e.testAccuracy(), e.seconds(), e.imagesPerSecond()}).toArray(double[][]::new));
        ModelFiles.write(net, file, true, null, Map.of(STATE, state), true);
    }

    /**
     * Reads the checkpoint (checksum required).
     *
     * @throws IOException naming the file when it is damaged, or written by a run with other settings
     */
    public Resumed resume() throws IOException {
        ComputationGraph net = ModelFiles.read(file, true, true);
        @SuppressWarnings("unchecked")
        Map<String, Object> state = ModelFiles.readObject(file, STATE, Map.class);
        if (!settings.equals(state.get("settings"))) {
            throw new IOException(file + ": was written by a run with other settings; resume with those, or "
                    + "delete it to start over (it had: " + state.get("settings") + ")");
        }
        List<Epoch> epochs = java.util.Arrays.stream((double[][]) state.get("curves"))
                .map(e -> new Epoch((int) e[0], e[1], e[2], e[3], e[4], e[5], e[6])).toList();
        @SuppressWarnings("unchecked")
        Map<String, Object> extra = state.get("extra") instanceof Map<?, ?> m ? (Map<String, Object>) m : Map.of();
        return new Resumed(net, (Integer) state.get("epochs done"), (Random) state.get("random"), epochs, extra);
    }

    /** Deletes the checkpoint and its checksum (the run finished). */
    public void delete() throws IOException {
        Files.deleteIfExists(file);
        Files.deleteIfExists(ModelFiles.checksumFile(file));
    }
}
