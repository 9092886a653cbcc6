package org.densenet4j.cli;

import java.io.IOException;
import java.util.Optional;

import org.densenet4j.keras.PretrainedWeights;
import org.densenet4j.zoo.DenseNetPreset;
import org.densenet4j.zoo.DenseNetPreset.WeightSource;

/**
 * What to type when a preset's pretrained model cannot be installed or read: the library's message
 * says what is wrong in library terms, and the command line adds its own commands here.
 */
final class PretrainedAdvice {

    private PretrainedAdvice() {
    }

    /** The commands that install or replace {@code preset}'s pretrained model. */
    static String forPreset(DenseNetPreset preset) {
        String id = preset.id();
        if (preset.pretrainedType().flatMap(preset::pretrained).filter(WeightSource::bundled).isPresent()) {
            return "with the command line: densenet train --model " + id + " --out " + id + ".zip, then copy it and "
                    + "its .sha256 file into the zoo cache";
        }
        Optional<PretrainedWeights> weights = PretrainedWeights.defaultFor(preset);
        if (weights.isEmpty()) {
            return "densenet fetch --list shows the presets with published weights";
        }
        return "with the command line: densenet fetch --model " + id + " --force (downloads it again), or for a file "
                + "downloaded by hand: " + convert(weights.get(), "--install --force");
    }

    /** The command that converts {@code weights}' file, downloaded by hand, with {@code target} options. */
    static String convert(PretrainedWeights weights, String target) {
        return "densenet convert --weights " + weights.fileName() + " --model " + weights.preset().id() + " " + target;
    }

    /** {@code e} (from installing or reading {@code preset}'s pretrained model) as one line with the commands. */
    static UserError of(DenseNetPreset preset, Exception e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return new UserError(m + "; " + forPreset(preset), e);
    }

    /** {@code e}, from fetching {@code weights} into {@code target}, with the manual conversion's command. */
    static UserError ofFetch(PretrainedWeights weights, String target, IOException e) {
        return new UserError(e.getMessage() + "; with the command line, for a file downloaded by hand: "
                + convert(weights, target), e);
    }
}
