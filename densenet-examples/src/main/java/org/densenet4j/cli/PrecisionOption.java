package org.densenet4j.cli;

import org.densenet4j.engine.EngineOptions;
import org.densenet4j.engine.Precision;

import picocli.CommandLine.Option;

/**
 * {@code --precision fp32|bf16}: the number format of the compiled inference engine. bf16 runs where
 * the CPU has AVX512_BF16 or AMX; elsewhere the engine says so in one line and runs fp32.
 */
final class PrecisionOption {

    @Option(names = "--precision", paramLabel = "fp32|bf16", description = "Number format of the compiled "
            + "inference engine: fp32 (default) or bf16 (bfloat16 weights and feature maps, fp32 sums, input and "
            + "outputs; about half the time on CPUs with AMX, and fp32 where the CPU has neither AMX nor AVX512_BF16). "
            + "int8 is not implemented yet.")
    String precision;

    /** The engine's options ({@code -Ddensenet4j.*}), in the precision asked for. */
    EngineOptions engineOptions() {
        EngineOptions options = EngineOptions.fromSystemProperties();
        return precision == null ? options : options.withPrecision(asked());
    }

    /** The precision asked for (fp32 when none is). */
    Precision asked() {
        if (precision == null) {
            return EngineOptions.fromSystemProperties().precision();
        }
        try {
            return Precision.parse(precision);
        } catch (IllegalArgumentException e) {
            throw new UserError("--precision: " + e.getMessage());
        }
    }

    /** The precision the compiled engine runs in here: {@code bf16}, or {@code fp32}. */
    String effective() {
        return asked().effective().id();
    }
}
