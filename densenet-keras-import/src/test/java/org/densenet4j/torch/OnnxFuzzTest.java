package org.densenet4j.torch;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import onnx.Onnx;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.keras.KerasDenseNetImporter;
import org.densenet4j.keras.WeightImportException;
import org.densenet4j.testing.ByteMutator;
import org.densenet4j.testing.Fuzz;
import org.densenet4j.zoo.DenseNetConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile ONNX files: mutated copies of torchvision's tiny DenseNet as torch.onnx exports it (the
 * committed fixture), with bit flips, truncation, overwritten, header and appended bytes, and
 * damage to the graph itself (operators swapped, attributes, dimensions and data types changed,
 * nodes dropped, inputs rewired, tensors moved to external data). Each must be refused with a
 * WeightImportException and a message, or read into weights that the file holds: every tensor
 * read is one the base file stores under that name with no more changed values than the mutation
 * touched, or one it stores under another name (a reference the mutation changed), and the
 * graph built from them loads; within 10 s of CPU time.
 */
class OnnxFuzzTest {

    private static final long BOUND_SECONDS = 10;

    @TempDir
    Path tmp;

    @Test
    void mutatedOnnxFilesReadTheirOwnWeightsOrAreRejected() throws Exception {
        Path fixture = OnnxImportTest.fixture();
        byte[] base = Files.readAllBytes(fixture);
        Map<String, StateTensor> baseTensors = OnnxDenseNet.read(fixture).contents().tensors();
        DenseNetConfig config = OnnxImportTest.tinyConfig();
        Onnx.ModelProto model = Onnx.ModelProto.parseFrom(base);
        ByteMutator mutator = new ByteMutator(Fuzz.SEED);
        Random structural = new Random(Fuzz.SEED);
        Path file = tmp.resolve("case.onnx");
        int byteCases = 0;
        try (Fuzz fuzz = new Fuzz("ONNX fuzz", "densenet-keras-import", OnnxFuzzTest.class, BOUND_SECONDS,
                Set.of("SAME", "CHANGED_VALUES", "REWIRED", "REJECTED"))) {
            for (int i = 0; i < Fuzz.CASES; i++) {
                String kind;
                byte[] bytes;
                int maxChanged;
                if (i % 5 == 4) {
                    Damage d = damage(model, structural);
                    kind = "structural: " + d.kind();
                    bytes = d.model().toByteArray();
                    maxChanged = 0;
                } else {
                    ByteMutator.Mutation m = mutator.mutate(base, byteCases++); // every kind in turn
                    kind = m.kind();
                    bytes = m.bytes();
                    maxChanged = m.changedFloats();
                }
                Files.write(file, bytes);
                int allowed = maxChanged;
                fuzz.run(kind.replaceFirst(":.*", ""), file, () -> outcome(file, config, baseTensors, allowed));
            }
            System.out.println(fuzz.report());
            assertTrue(fuzz.broken().isEmpty(), fuzz.broken().size() + " cases broke the contract:\n"
                    + String.join("\n", fuzz.broken()));
            long rejected = fuzz.counts().entrySet().stream().filter(e -> e.getKey().endsWith(": REJECTED"))
                    .mapToLong(Map.Entry::getValue).sum();
            assertTrue(Fuzz.single() || rejected > Fuzz.CASES / 4, "most mutations should be caught: " + fuzz.counts());
        }
    }

    private record Damage(String kind, Onnx.ModelProto model) {
    }

    /** One change to the graph that byte mutations rarely make while leaving the protobuf readable. */
    private static Damage damage(Onnx.ModelProto m, Random rnd) {
        Onnx.ModelProto.Builder b = m.toBuilder();
        Onnx.GraphProto.Builder g = b.getGraphBuilder();
        Onnx.NodeProto.Builder n = g.getNodeBuilder(rnd.nextInt(g.getNodeCount()));
        Onnx.TensorProto.Builder t = g.getInitializerBuilder(rnd.nextInt(g.getInitializerCount()));
        String[] ops = {"Sigmoid", "Conv", "Relu", "Identity", "Concat", "MaxPool", "Add", "Softmax"};
        switch (rnd.nextInt(8)) {
            case 0 -> n.setOpType(ops[rnd.nextInt(ops.length)]);
            case 1 -> {
                if (n.getAttributeCount() == 0) {
                    return new Damage("no attribute to change", b.build());
                }
                Onnx.AttributeProto.Builder a = n.getAttributeBuilder(rnd.nextInt(n.getAttributeCount()));
                if (a.getIntsCount() > 0) {
                    a.setInts(rnd.nextInt(a.getIntsCount()), rnd.nextInt(5) - 1);
                } else {
                    a.setI(rnd.nextInt(5) - 1).setF(rnd.nextFloat());
                }
            }
            case 2 -> t.setDims(rnd.nextInt(Math.max(1, t.getDimsCount())),
                    rnd.nextBoolean() ? rnd.nextInt(64) : rnd.nextLong());
            case 3 -> t.setDataType(rnd.nextInt(17));
            case 4 -> g.removeNode(rnd.nextInt(g.getNodeCount()));
            case 5 -> {
                if (n.getInputCount() == 0) {
                    return new Damage("no input to rewire", b.build());
                }
                List<String> values = new ArrayList<>();
                g.getInitializerList().forEach(x -> values.add(x.getName()));
                g.getNodeList().forEach(x -> values.addAll(x.getOutputList()));
                n.setInput(rnd.nextInt(n.getInputCount()), values.get(rnd.nextInt(values.size())));
            }
            case 6 -> t.setDataLocation(Onnx.TensorProto.DataLocation.EXTERNAL).addExternalData(
                    Onnx.StringStringEntryProto.newBuilder().setKey("location").setValue("../../etc/passwd"));
            default -> t.setRawData(t.getRawData().substring(0, rnd.nextInt(t.getRawData().size() + 1)));
        }
        return new Damage("damaged", b.build());
    }

    private static String outcome(Path file, DenseNetConfig config, Map<String, StateTensor> base, int maxChanged) {
        try {
            Map<String, StateTensor> read = OnnxDenseNet.read(file).contents().tensors();
            int changed = 0;
            int rewired = 0;
            for (StateTensor t : read.values()) {
                StateTensor same = base.get(t.key());
                int diff = same == null || !java.util.Arrays.equals(same.shape(), t.shape()) ? -1 : differing(same, t);
                if (diff == 0) {
                    continue;
                }
                if (base.values().stream().anyMatch(o -> java.util.Arrays.equals(o.shape(), t.shape())
                        && differing(o, t) == 0)) {
                    rewired++; // a reference now names another stored tensor
                } else if (diff > 0) {
                    changed += diff;
                } else {
                    return "LIED '" + t.key() + "' is " + t.shapeText() + ", no tensor of the file";
                }
            }
            String detail = " " + changed + " values changed (at most " + maxChanged + " allowed), " + rewired
                    + " tensors read from elsewhere";
            if (changed > maxChanged) {
                return "LIED" + detail;
            }
            try {
                ComputationGraph net = KerasDenseNetImporter.load(file, config);
                net.close();
            } catch (WeightImportException e) {
                return "REJECTED " + e.getMessage(); // read, but not the DenseNet of the base's shapes
            }
            return (rewired > 0 ? "REWIRED" : changed == 0 ? "SAME" : "CHANGED_VALUES") + detail;
        } catch (WeightImportException e) {
            boolean named = e.getMessage() != null && !e.getMessage().isBlank();
            return (named ? "REJECTED " : "WRONG_EXCEPTION") + e.getMessage();
        } catch (OutOfMemoryError e) {
            return "OUT_OF_MEMORY " + e;
        } catch (Throwable e) {
            return "WRONG_EXCEPTION " + e;
        }
    }

    private static int differing(StateTensor a, StateTensor b) {
        int n = 0;
        for (int i = 0; i < a.values().length; i++) {
            n += Float.floatToIntBits(a.values()[i]) != Float.floatToIntBits(b.values()[i]) ? 1 : 0;
        }
        return n;
    }
}
