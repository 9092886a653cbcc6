package org.densenet4j.zoo.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;

import org.densenet4j.zoo.DenseNetZooModel;
import org.densenet4j.zoo.TinyNets;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.preprocessor.NormalizerStandardize;
import org.nd4j.linalg.learning.config.Adam;

/** Model zips as ModelFiles writes and reads them: DL4J's own format, one pass, nothing run from the file. */
class ModelFilesTest {

    @TempDir
    Path dir;

    private static ComputationGraph trainedTiny() {
        ComputationGraph net = new DenseNetZooModel("tiny", TinyNets.tinyBc().updater(new Adam(1e-3)).build()).init();
        net.fit(TinyNets.bars(8, 12, 3));
        return net;
    }

    @Test
    void writesWhatDl4jsOwnReadersReadBack() throws Exception {
        ComputationGraph net = trainedTiny();
        DataSet data = TinyNets.bars(16, 12, 4);
        NormalizerStandardize normalizer = new NormalizerStandardize();
        normalizer.fit(data);
        HashMap<String, Object> state = new HashMap<>(Map.of("epochs done", 3, "curves", new double[][] {{1, 0.5}}));
        ModelCard card = new ModelCard(ModelCard.STORED, 12, 12, 1, List.of("top", "bottom"), Map.of("trained",
                "bars"));
        Path zip = dir.resolve("m.zip");

        ModelFiles.write(net, zip, false, normalizer, Map.of("labels", List.of("top", "bottom"), "state", state,
                "arrayList", new java.util.ArrayList<>(List.of("x", "y"))), true, card);

        ComputationGraph back = ModelSerializer.restoreComputationGraph(zip.toFile(), true);
        assertEquals(net.getConfiguration(), back.getConfiguration());
        assertEquals(net.params(), back.params());
        assertEquals(net.getUpdater().getStateViewArray(), back.getUpdater().getStateViewArray());
        NormalizerStandardize dl4jNormalizer = ModelSerializer.restoreNormalizerFromFile(zip.toFile());
        assertEquals(normalizer.getMean(), dl4jNormalizer.getMean());
        assertEquals(normalizer.getStd(), dl4jNormalizer.getStd());
        assertEquals(List.of("top", "bottom"), ModelSerializer.getObjectFromFile(zip.toFile(), "labels"));

        assertEquals(card, ModelCard.read(zip).orElseThrow());
        assertEquals(List.of("top", "bottom"), ModelFiles.readLabels(zip).orElseThrow());
        assertEquals(List.of("top", "bottom"), ModelFiles.readObject(zip, "labels", List.class), "List.of, as stored");
        assertEquals(List.of("x", "y"), ModelFiles.readObject(zip, "arrayList", List.class), "an ArrayList");
        NormalizerStandardize ours = (NormalizerStandardize) ModelFiles.readNormalizer(zip).orElseThrow();
        assertEquals(normalizer.getMean(), ours.getMean());
        @SuppressWarnings("unchecked")
        Map<String, Object> stateBack = ModelFiles.readObject(zip, "state", Map.class);
        assertEquals(3, stateBack.get("epochs done"));
        assertArrayEquals(new double[] {1, 0.5}, ((double[][]) stateBack.get("curves"))[0]);
        assertEquals(ModelFiles.sha256(zip), Files.readString(ModelFiles.checksumFile(zip)).split("\\s+")[0]);
        assertEquals(net.params(), ModelFiles.read(zip, true).params());
    }

    @Test
    void aFailedWriteKeepsTheFileItWouldHaveReplaced() throws Exception {
        ComputationGraph net = trainedTiny();
        Path zip = dir.resolve("m.zip");
        ModelFiles.write(net, zip, false);
        byte[] before = Files.readAllBytes(zip);
        String sumBefore = Files.readString(ModelFiles.checksumFile(zip));

        IOException e = assertThrows(IOException.class,
                () -> ModelFiles.write(net, zip, true, null, Map.of("bad", new Object()), false));
        assertTrue(e.getMessage().contains("'bad'"), e.getMessage());
        assertArrayEquals(before, Files.readAllBytes(zip));
        assertEquals(sumBefore, Files.readString(ModelFiles.checksumFile(zip)));
        try (var left = Files.list(dir)) {
            assertEquals(List.of("m.zip", "m.zip.sha256"), left.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }

    /** Sets {@link #ran} when Java deserialisation instantiates it: what a gadget in a hostile zip would do. */
    static final class Tripwire implements Serializable {
        static volatile boolean ran;

        private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
            in.defaultReadObject();
            ran = true;
        }
    }

    @Test
    void storedObjectsOutsideTheAllowListAreRefusedUnrun() throws Exception {
        Path zip = dir.resolve("m.zip");
        ModelFiles.write(trainedTiny(), zip, false);
        ModelSerializer.addObjectToFile(zip.toFile(), "labels", List.of("a", new Tripwire()));
        ModelSerializer.addObjectToFile(zip.toFile(), "number", 7);

        Tripwire.ran = false;
        IOException e = assertThrows(IOException.class, () -> ModelFiles.readLabels(zip));
        assertTrue(e.getMessage().contains(zip.toString()) && e.getMessage().contains("objects/labels"),
                e.getMessage());
        assertFalse(Tripwire.ran, "the refused class was instantiated");
        IOException wrongType = assertThrows(IOException.class, () -> ModelFiles.readObject(zip, "number", List.class));
        assertTrue(wrongType.getMessage().contains("java.lang.Integer"), wrongType.getMessage());
        assertEquals(7, ModelFiles.readObject(zip, "number", Integer.class));
    }

    @Test
    void entriesDl4jWouldInstantiateUncheckedAreRefused() throws Exception {
        Path zip = dir.resolve("m.zip");
        ModelFiles.write(trainedTiny(), zip, false);
        Path withPreprocessor = dir.resolve("p.zip");
        copyWith(zip, withPreprocessor, ModelSerializer.PREPROCESSOR_BIN, new byte[] {(byte) 0xac, (byte) 0xed, 0, 5});
        IOException e = assertThrows(IOException.class, () -> ModelFiles.read(withPreprocessor, false));
        assertTrue(e.getMessage().contains(ModelSerializer.PREPROCESSOR_BIN), e.getMessage());

        ByteArrayOutputStream header = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(header)) {
            out.writeUTF("NORMALIZER");
            out.writeInt(1);
            out.writeUTF("CUSTOM");
            out.writeUTF(Tripwire.class.getName());
        }
        Path withCustom = dir.resolve("c.zip");
        copyWith(zip, withCustom, ModelSerializer.NORMALIZER_BIN, header.toByteArray());
        IOException custom = assertThrows(IOException.class, () -> ModelFiles.readNormalizer(withCustom));
        assertTrue(custom.getMessage().contains("custom serializer class"), custom.getMessage());
    }

    private static void copyWith(Path from, Path to, String entry, byte[] data) throws IOException {
        try (ZipInputStream in = new ZipInputStream(Files.newInputStream(from));
             ZipOutputStream out = new ZipOutputStream(Files.newOutputStream(to))) {
            for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
                out.putNextEntry(new ZipEntry(e.getName()));
                in.transferTo(out);
                out.closeEntry();
            }
            out.putNextEntry(new ZipEntry(entry));
            out.write(data);
            out.closeEntry();
        }
    }
}
