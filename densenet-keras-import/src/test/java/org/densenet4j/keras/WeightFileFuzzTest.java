package org.densenet4j.keras;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.testing.ByteMutator;
import org.densenet4j.testing.Fuzz;
import org.densenet4j.zoo.DenseNetConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile weight files: mutated copies of valid files of every layout (bit flips, truncation,
 * overwritten and appended bytes, and, written with h5py, swapped, resized, retyped, absurdly
 * shaped, missing and duplicated datasets and attributes). Each must load with the same weights as
 * the original, load with no more changed values than it has changed weight bytes (a flip inside
 * HDF5 weight data is a valid file with another number: Keras files carry no checksum), or fail with
 * the importer's own exception and a message, within 10 s of CPU time, without running out of memory.
 *
 * <p>300 cases per run with a fixed seed; more with
 * {@code mvn -pl densenet-keras-import test -Dtest=WeightFileFuzzTest -Ddensenet.fuzz.cases=10000}.
 */
class WeightFileFuzzTest {

    private static final long BOUND_SECONDS = 10;
    static final String[] LAYOUTS = {"keras1-tf", "keras1-th", "keras2", "keras2-full"};

    /** What a mutated file did. */
    enum Outcome {
        /** Loaded, every weight as in the original. */
        SAME,
        /** Loaded, some weight values changed, no more than the mutated bytes can hold. */
        CHANGED_VALUES,
        /** Rejected with a WeightImportException and a message. */
        REJECTED,
        /** Loaded with more changed values than the mutation can explain. */
        LIED,
        /** Failed with another exception, or with no message. */
        WRONG_EXCEPTION,
        /** Ran out of memory. */
        OUT_OF_MEMORY
    }

    private record Base(String layout, Path file, byte[] bytes, DenseNetConfig config, float[] params) {
    }

    /** A mutated file and how many weight values its mutation may change at most. */
    private record Case(Base base, String mutation, byte[] bytes, Path file, int maxChangedValues) {
    }

    @TempDir
    Path tmp;

    @Test
    void mutatedWeightFilesLoadIdenticallyOrAreRejected() throws Exception {
        List<Base> bases = new ArrayList<>();
        for (String layout : LAYOUTS) {
            Path file = Fixtures.get("densenet-tiny", layout, 32, 32, 2, 5).weights();
            WeightFileSummary summary = KerasDenseNetImporter.inspect(file);
            DenseNetConfig config = summary.toConfig().inputShape(32, 32, 3).build();
            ComputationGraph net = KerasDenseNetImporter.load(file, config);
            bases.add(new Base(layout, file, Files.readAllBytes(file), config, net.params().toFloatVector()));
        }

        ByteMutator mutator = new ByteMutator(Fuzz.SEED);
        int structural = Fuzz.CASES / 5;
        List<Case> cases = new ArrayList<>();
        for (int i = 0; i < Fuzz.CASES - structural; i++) {
            Base base = bases.get(i % bases.size());
            ByteMutator.Mutation m = mutator.mutate(base.bytes(), i / bases.size());
            cases.add(new Case(base, m.kind(), m.bytes(), null, m.changedFloats()));
        }
        for (Base base : bases) {
            int n = structural / bases.size() + (bases.indexOf(base) < structural % bases.size() ? 1 : 0);
            for (Path p : Fixtures.structuralMutations(base.file(), "tiny-" + base.layout(), n, Fuzz.SEED)) {
                cases.add(new Case(base, "h5py " + p.getFileName().toString().replaceFirst("^\\d+-", "")
                        .replace(".h5", ""), null, p, 0));
            }
        }
        assertEquals(Fuzz.CASES, cases.size());

        try (Fuzz fuzz = new Fuzz("Weight-file fuzz", "densenet-keras-import", WeightFileFuzzTest.class, BOUND_SECONDS,
                Set.of(Outcome.SAME.name(), Outcome.CHANGED_VALUES.name(), Outcome.REJECTED.name()))) {
            for (Case c : cases) {
                Path file = c.file();
                if (c.bytes() != null) {
                    file = tmp.resolve("case.h5");
                    Files.write(file, c.bytes());
                }
                Path target = file;
                fuzz.run(c.base().layout() + " " + c.mutation(), target, () -> {
                    String[] detail = new String[1];
                    Outcome outcome = run(c, target, detail);
                    return outcome.name() + " " + detail[0];
                });
            }
            System.out.println(fuzz.report());
            assertTrue(fuzz.broken().isEmpty(), fuzz.broken().size() + " cases broke the contract:\n"
                    + String.join("\n", fuzz.broken()));
            long rejected = fuzz.counts().entrySet().stream().filter(e -> e.getKey().endsWith(": REJECTED"))
                    .mapToLong(Map.Entry::getValue).sum();
            assertTrue(Fuzz.single() || rejected > Fuzz.CASES / 4, "most mutations should be caught: " + fuzz.counts());
        }
    }

    private static Outcome run(Case c, Path file, String[] detail) {
        try {
            ComputationGraph net = KerasDenseNetImporter.load(file, c.base().config());
            float[] params = net.params().toFloatVector();
            net.close();
            int changed = 0;
            for (int i = 0; i < params.length; i++) {
                if (Float.floatToIntBits(params[i]) != Float.floatToIntBits(c.base().params()[i])) {
                    changed++;
                }
            }
            // Folding a Keras 1 Scale into its BN turns one stored value into two parameters.
            int allowed = 2 * c.maxChangedValues();
            detail[0] = changed + " values changed (at most " + allowed + " allowed)";
            return changed == 0 ? Outcome.SAME : changed <= allowed ? Outcome.CHANGED_VALUES : Outcome.LIED;
        } catch (WeightImportException e) {
            detail[0] = e.getMessage();
            return e.getMessage() == null || e.getMessage().isBlank() ? Outcome.WRONG_EXCEPTION : Outcome.REJECTED;
        } catch (OutOfMemoryError e) {
            detail[0] = e.toString();
            return Outcome.OUT_OF_MEMORY;
        } catch (Throwable e) {
            detail[0] = e.toString();
            return Outcome.WRONG_EXCEPTION;
        }
    }
}
