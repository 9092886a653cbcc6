package org.densenet4j.cli;

import java.util.Locale;

import picocli.CommandLine.Option;

/**
 * {@code --engine compiled|graph}: the zoo's compiled engines (CompiledGraph for inference,
 * CompiledTrainer for training steps), or the ComputationGraph's own {@code output()} and
 * {@code fit()}. Where the compiled engine cannot run a model (or oneDNN is not loaded) the graph runs.
 */
final class EngineOption {

    @Option(names = "--engine", defaultValue = "compiled", description = "compiled (the zoo's compiled "
            + "inference engine and training steps) or graph (the ComputationGraph's own output() and fit()); "
            + "default: ${DEFAULT-VALUE}, the graph where the compiled engine cannot run the model.")
    String engine;

    /** Whether the compiled engine is asked for. */
    boolean compiled() {
        String e = engine.toLowerCase(Locale.ROOT);
        if (!e.equals("graph") && !e.equals("compiled")) {
            throw new UserError("--engine must be compiled or graph, was '" + engine + "'");
        }
        return e.equals("compiled");
    }
}
