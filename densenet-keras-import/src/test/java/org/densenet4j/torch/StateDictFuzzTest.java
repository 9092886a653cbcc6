package org.densenet4j.torch;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.keras.Fixtures;
import org.densenet4j.keras.KerasDenseNetImporter;
import org.densenet4j.keras.WeightImportException;
import org.densenet4j.testing.ByteMutator;
import org.densenet4j.testing.Fuzz;
import org.densenet4j.zoo.DenseNetConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile PyTorch weight files: mutated copies of a torchvision DenseNet's state_dict in each
 * format (torch.save's zip, its legacy format, safetensors) with bit flips, truncation, overwritten,
 * header and appended bytes, and structural damage (safetensors header lengths and offsets that lie
 * or overlap, a pickle whose global is swapped for another). Each must load with the same weights,
 * load with no more changed values than the mutation changed (raw tensor data carries no checksum a
 * reader must check), or fail with a WeightImportException and a message, within 10 s of CPU time.
 */
class StateDictFuzzTest {

    private static final long BOUND_SECONDS = 10;

    private record Base(String format, byte[] bytes, float[] params) {
    }

    @TempDir
    Path tmp;

    @Test
    void mutatedStateDictsLoadIdenticallyOrAreRejected() throws Exception {
        Fixtures.TorchFixture f = Fixtures.torch("densenet-tiny", 32, 32, 2, 5);
        DenseNetConfig config = KerasDenseNetImporter.inspect(f.pth()).toConfig().inputShape(32, 32, 3).build();
        List<Base> bases = new ArrayList<>();
        for (Path p : List.of(f.pth(), f.legacyPth(), f.safetensors())) {
            ComputationGraph net = KerasDenseNetImporter.load(p, config);
            bases.add(new Base(p.getFileName().toString(), Files.readAllBytes(p), net.params().toFloatVector()));
            net.close();
        }
        ByteMutator mutator = new ByteMutator(Fuzz.SEED);
        Random structural = new Random(Fuzz.SEED);
        Path file = tmp.resolve("case.bin");
        try (Fuzz fuzz = new Fuzz("State-dict fuzz", "densenet-keras-import", StateDictFuzzTest.class, BOUND_SECONDS,
                Set.of("SAME", "CHANGED_VALUES", "REJECTED"))) {
            for (int i = 0; i < Fuzz.CASES; i++) {
                Base base = bases.get(i % bases.size());
                String kind;
                byte[] bytes;
                int maxChanged;
                if (i % 5 == 4) {
                    kind = "structural";
                    bytes = structural(base, structural);
                    maxChanged = 0;
                } else {
                    ByteMutator.Mutation m = mutator.mutate(base.bytes(), i / bases.size());
                    kind = m.kind();
                    bytes = m.bytes();
                    maxChanged = m.changedFloats();
                }
                Files.write(file, bytes);
                int allowed = maxChanged;
                fuzz.run(base.format() + " " + kind, file, () -> outcome(file, config, base, allowed));
            }
            System.out.println(fuzz.report());
            assertTrue(fuzz.broken().isEmpty(), fuzz.broken().size() + " cases broke the contract:\n"
                    + String.join("\n", fuzz.broken()));
            long rejected = fuzz.counts().entrySet().stream().filter(e -> e.getKey().endsWith(": REJECTED"))
                    .mapToLong(Map.Entry::getValue).sum();
            assertTrue(Fuzz.single() || rejected > Fuzz.CASES / 4, "most mutations should be caught: " + fuzz.counts());
        }
    }

    /**
     * Damage no byte-level mutation is likely to make: a safetensors header length or data offset
     * that lies, or a pickle's global name swapped for one of the same length that a state_dict
     * never uses.
     */
    private static byte[] structural(Base base, Random rnd) {
        byte[] b = base.bytes().clone();
        if (base.format().endsWith(".safetensors")) {
            ByteBuffer buf = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
            long header = buf.getLong(0);
            if (rnd.nextBoolean()) {
                buf.putLong(0, rnd.nextBoolean() ? header + 1 + rnd.nextInt(64) : rnd.nextLong());
            } else { // one digit of a data offset changed: a range that overlaps, overruns or misaligns
                String json = new String(b, 8, (int) header, java.nio.charset.StandardCharsets.US_ASCII);
                int at = json.indexOf("data_offsets", rnd.nextInt(json.length() - 20)) + 15;
                if (at >= 15 && Character.isDigit(json.charAt(at))) {
                    b[8 + at] = (byte) ('0' + rnd.nextInt(10));
                }
            }
            return b;
        }
        String text = new String(b, java.nio.charset.StandardCharsets.ISO_8859_1);
        String[] globals = {"collections\nOrderedDict\n", "torch._utils\n_rebuild_tensor_v2\n",
                "torch\nFloatStorage\n"};
        String[] foreign = {"collections\nnamedtuples\n", "subprocess\ncheck_output_unsafe2\n",
                "posix\nsystem_popen\n"};
        int g = rnd.nextInt(globals.length);
        int at = text.indexOf(globals[g]);
        if (at >= 0) {
            byte[] swap = foreign[g].substring(0,
                    globals[g].length()).getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
            System.arraycopy(swap, 0, b, at, swap.length);
        }
        return b;
    }

    private static String outcome(Path file, DenseNetConfig config, Base base, int maxChanged) {
        try {
            ComputationGraph net = KerasDenseNetImporter.load(file, config);
            float[] params = net.params().toFloatVector();
            net.close();
            int changed = 0;
            for (int i = 0; i < params.length; i++) {
                changed += Float.floatToIntBits(params[i]) != Float.floatToIntBits(base.params()[i]) ? 1 : 0;
            }
            String detail = " " + changed + " values changed (at most " + maxChanged + " allowed)";
            return (changed == 0 ? "SAME" : changed <= maxChanged ? "CHANGED_VALUES" : "LIED") + detail;
        } catch (WeightImportException e) {
            return (e.getMessage() == null || e.getMessage().isBlank() ? "WRONG_EXCEPTION" : "REJECTED ")
                    + e.getMessage();
        } catch (OutOfMemoryError e) {
            return "OUT_OF_MEMORY " + e;
        } catch (Throwable e) {
            return "WRONG_EXCEPTION " + e;
        }
    }
}
