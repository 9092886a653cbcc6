package org.densenet4j.cli;

import java.io.IOException;

import org.densenet4j.engine.NativeMemory;
import org.densenet4j.examples.Architecture;
import org.densenet4j.examples.ImageModel;
import org.densenet4j.training.TrainingStep;
import org.densenet4j.zoo.DenseNetConfig;
import org.densenet4j.zoo.DenseNetPreset;

/** Resolves the {@code --model} option: a model zip, or a preset id. */
final class Models {

    private Models() {
    }

    /** Whether {@code spec} names a file rather than a preset. */
    static boolean isFile(String spec) {
        return ImageModel.isFile(spec);
    }

    /** The preset named {@code id}, or a one-line error listing the known ones. */
    static DenseNetPreset preset(String id) {
        try {
            return DenseNetPreset.fromId(id);
        } catch (IllegalArgumentException e) {
            throw new UserError(e.getMessage());
        }
    }

    /**
     * {@link ImageModel#load}, its refusals as one-line errors; a preset's pretrained model that cannot
     * be installed or read gets the commands that install it ({@link PretrainedAdvice}).
     */
    static ImageModel load(String spec) throws IOException {
        try {
            return ImageModel.load(spec);
        } catch (IllegalArgumentException e) {
            throw new UserError(e.getMessage());
        } catch (IOException | UnsupportedOperationException e) {
            if (isFile(spec)) {
                throw e;
            }
            throw PretrainedAdvice.of(DenseNetPreset.fromId(spec), e);
        }
    }

    /**
     * Allocates the trainer's buffers for batches of {@code shape} before the first step; a batch
     * that does not fit is a one-line error naming the model.
     */
    static long prepare(String model, TrainingStep step, long... shape) {
        try {
            return step.prepare(shape);
        } catch (NativeMemory.TooLargeException e) {
            throw new UserError(model + ": " + e.getMessage());
        }
    }

    /** {@link Architecture#of}, its refusals as one-line errors. */
    static Architecture architecture(String spec) throws IOException {
        try {
            return Architecture.of(spec);
        } catch (IllegalArgumentException e) {
            throw new UserError(e.getMessage());
        }
    }

    /** Parses {@code HxWxC} (or {@code HxW}, 3 channels). */
    static int[] parseInput(String text) {
        String[] parts = text.toLowerCase(java.util.Locale.ROOT).split("x");
        try {
            if (parts.length == 2 || parts.length == 3) {
                int h = Integer.parseInt(parts[0].trim());
                int w = Integer.parseInt(parts[1].trim());
                int c = parts.length == 3 ? Integer.parseInt(parts[2].trim()) : 3;
                return new int[] {h, w, c};
            }
        } catch (NumberFormatException e) {
            // fall through
        }
        throw new UserError("--input '" + text + "' is not HxWxC, e.g. 224x224x3");
    }

    /** The preset's configuration with the classes and input shape asked for. */
    static DenseNetConfig configure(DenseNetPreset preset, Integer classes, String input) {
        DenseNetConfig.Builder b = preset.config().toBuilder();
        if (classes != null) {
            b.numClasses(classes);
        }
        if (input != null) {
            int[] hwc = parseInput(input);
            b.inputShape(hwc[0], hwc[1], hwc[2]);
        }
        return b.build();
    }
}
