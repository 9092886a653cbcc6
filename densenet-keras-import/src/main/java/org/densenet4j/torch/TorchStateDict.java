package org.densenet4j.torch;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

import org.densenet4j.keras.WeightImportException;
import org.densenet4j.torch.Pickle.Global;
import org.densenet4j.torch.Pickle.PickleException;
import org.densenet4j.torch.StateTensor.DType;
import org.nd4j.shade.jackson.core.JsonParser;
import org.nd4j.shade.jackson.databind.JsonNode;
import org.nd4j.shade.jackson.databind.ObjectMapper;

/**
 * Reads a PyTorch state_dict, in pure Java, from the three files it is published in: the zip that
 * {@code torch.save} writes (a {@code data.pkl} pickle and one raw entry per storage), the legacy
 * format of {@code torch.save(..., _use_new_zipfile_serialization=False)} and of checkpoints from
 * before PyTorch 1.6 (pickles, then the storages one after another), and {@code .safetensors} (an
 * 8-byte header length, a JSON header, raw little-endian data).
 *
 * <p>Loading never runs code from the file: the pickle reader ({@link Pickle}) knows only the
 * dictionaries, tensor-rebuilding calls and storage types of a state_dict, and refuses any other
 * global (such as {@code os.system}) by name. Everything is checked before it is used: storages
 * against their declared sizes, tensors against their storages, safetensors offsets against the
 * data and each other. A checkpoint that wraps its state_dict ({@code {"state_dict": ...}} or
 * {@code {"model": ...}}) is unwrapped, and DataParallel's {@code module.} prefix is dropped.
 */
public final class TorchStateDict {

    /** The container a state_dict was read from. */
    public enum Format {
        /** {@code torch.save}'s zip (PyTorch 1.6 and later). */
        PYTORCH_ZIP("PyTorch zip"),
        /** {@code torch.save}'s legacy format (before 1.6, or with the zip format turned off). */
        PYTORCH_LEGACY("PyTorch legacy"),
        /** Hugging Face's safetensors. */
        SAFETENSORS("safetensors"),
        /** An ONNX model's initializers, read by the structure of its graph ({@link OnnxDenseNet}). */
        ONNX("ONNX");

        private final String label;

        Format(String label) {
            this.label = label;
        }

        @Override
        public String toString() {
            return label;
        }
    }

    /** A state_dict read from {@code file}: its entries in file order, and safetensors' metadata. */
    public record Contents(Path file, Format format, Map<String, StateTensor> tensors, Map<String, String> metadata) {
    }

    /** The most values one tensor may hold (DenseNet's largest weight has 2.7 million). */
    static final long MAX_TENSOR_VALUES = 1L << 26;
    private static final java.math.BigInteger LEGACY_MAGIC = new java.math.BigInteger("1950a86a20f9469cfc6c", 16);
    private static final Set<String> REBUILD = Set.of("_rebuild_tensor_v2", "_rebuild_tensor", "_rebuild_parameter");

    private TorchStateDict() {
    }

    /** The format of {@code file} from its first bytes, or null when it is none of the three. */
    public static Format sniff(Path file) throws IOException {
        byte[] head = new byte[9];
        try (InputStream in = Files.newInputStream(file)) {
            int n = in.readNBytes(head, 0, head.length);
            if (n >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4) {
                return Format.PYTORCH_ZIP;
            }
            if (n >= 2 && (head[0] & 0xff) == 0x80 && head[1] >= 2 && head[1] <= 5) {
                return Format.PYTORCH_LEGACY;
            }
            if (n == 9 && head[8] == '{') {
                return Format.SAFETENSORS;
            }
        }
        return null;
    }

    /**
     * Reads every entry of a state_dict file.
     *
     * @throws WeightImportException if the file is missing, not a state_dict file, damaged, or asks to
     *         run code; the message names the file and the entry
     */
    public static Contents read(Path file) throws WeightImportException {
        if (!Files.isRegularFile(file)) {
            throw new WeightImportException(file, "no such file");
        }
        try {
            Format format = sniff(file);
            if (format == null) {
                throw new WeightImportException(file, "not a PyTorch state_dict file (.pth/.pt zip or legacy, "
                        + "or .safetensors): its first bytes are none of theirs");
            }
            return switch (format) {
                case PYTORCH_ZIP -> readZip(file);
                case PYTORCH_LEGACY -> readLegacy(file);
                case SAFETENSORS -> readSafetensors(file);
                case ONNX -> throw new IllegalStateException("sniff never says ONNX");
            };
        } catch (WeightImportException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new WeightImportException(file, "not a readable state_dict file (" + e.getClass().getSimpleName()
                    + (e.getMessage() == null ? "" : ": " + e.getMessage()) + ")", e);
        }
    }

    // --- torch.save, zip ------------------------------------------------------------------------

    private static Contents readZip(Path file) throws IOException {
        try (ZipFile zip = new ZipFile(file.toFile())) {
            List<String> pickles = zip.stream().map(ZipEntry::getName)
                    .filter(n -> n.endsWith("/data.pkl") && n.indexOf('/') == n.length() - "/data.pkl".length())
                    .toList();
            if (pickles.size() != 1) {
                throw new WeightImportException(file, "a zip, but not one torch.save wrote: it has " + pickles.size()
                        + " '<name>/data.pkl' entries, expected 1");
            }
            String prefix = pickles.get(0).substring(0, pickles.get(0).length() - "data.pkl".length());
            ZipEntry byteOrder = zip.getEntry(prefix + "byteorder");
            if (byteOrder != null) {
                String order = new String(entry(file, zip, byteOrder, 16), StandardCharsets.US_ASCII).trim();
                if (!order.equals("little")) {
                    throw new WeightImportException(file, "stores its tensors in '" + order + "' byte order; only "
                            + "little-endian files are read");
                }
            }
            Unpickled u = unpickle(file, ByteBuffer.wrap(entry(file, zip, zip.getEntry(pickles.get(0)),
                    Math.min(Files.size(file), 1L << 30))), false);
            long stored = zip.stream().filter(e -> e.getName().startsWith(prefix + "data/")
                    && !e.isDirectory()).count();
            if (stored != u.storages().size()) {
                throw new WeightImportException(file, "stores " + stored + " storages but its pickle uses "
                        + u.storages().size() + " (damaged file?)");
            }
            for (Storage s : u.storages().values()) {
                ZipEntry e = zip.getEntry(prefix + "data/" + s.key());
                if (e == null) {
                    throw new WeightImportException(file, "storage '" + s.key() + "' is named by the pickle but the "
                            + "zip has no entry '" + prefix + "data/" + s.key() + "'");
                }
                s.bytes = entry(file, zip, e, s.byteSize());
                if (s.bytes.length != s.byteSize()) {
                    throw new WeightImportException(file, "storage '" + s.key() + "' holds " + s.bytes.length
                            + " bytes; the pickle says " + s.numel() + " " + s.dtype() + " values, " + s.byteSize()
                            + " bytes");
                }
            }
            return new Contents(file, Format.PYTORCH_ZIP, u.tensors(file), Map.of());
        }
    }

    /** An entry's bytes, read up to {@code limit} + 1 whatever its header claims. */
    private static byte[] entry(Path file, ZipFile zip, ZipEntry e, long limit) throws IOException {
        if (e.getSize() > limit) {
            throw new WeightImportException(file, "zip entry '" + e.getName() + "' claims " + e.getSize()
                    + " bytes, expected at most " + limit);
        }
        try (InputStream in = zip.getInputStream(e)) {
            byte[] b = in.readNBytes((int) Math.min(limit + 1, Integer.MAX_VALUE - 8));
            if (b.length > limit) {
                throw new WeightImportException(file,
                        "zip entry '" + e.getName() + "' holds more than " + limit + " bytes");
            }
            // torch.save stores entries uncompressed, and ZipFile checks no CRC of those: a flipped
            // bit would read as another weight (or another stride) without this.
            java.util.zip.CRC32 crc = new java.util.zip.CRC32();
            crc.update(b);
            if (e.getCrc() != -1 && crc.getValue() != e.getCrc()) {
                throw new WeightImportException(file,
                        "zip entry '" + e.getName() + "' fails its CRC-32 (damaged file)");
            }
            return b;
        }
    }

    // --- torch.save, legacy ---------------------------------------------------------------------

    private static Contents readLegacy(Path file) throws IOException {
        ByteBuffer in = map(file);
        Object magic = pickle(file, in, "magic number");
        if (!LEGACY_MAGIC.equals(magic)) {
            throw new WeightImportException(file,
                    "a pickle, but not a file torch.save wrote (no PyTorch magic number)");
        }
        Object protocol = pickle(file, in, "protocol version");
        if (!Long.valueOf(1001).equals(protocol)) {
            throw new WeightImportException(file, "PyTorch legacy protocol " + protocol + ", expected 1001");
        }
        if (pickle(file, in, "system information") instanceof Map<?, ?> info
                && Boolean.FALSE.equals(info.get("little_endian"))) {
            throw new WeightImportException(file, "written on a big-endian machine; only little-endian files are read");
        }
        Unpickled u = unpickle(file, in, true);
        Object keys = pickle(file, in, "storage keys");
        if (!(keys instanceof List<?> list) || !list.stream().allMatch(String.class::isInstance)) {
            throw new WeightImportException(file, "the list of storage keys is damaged");
        }
        for (Object key : list) {
            Storage s = u.storages().get(key);
            if (s == null) {
                throw new WeightImportException(file, "stores storage '" + key + "', which no tensor uses");
            }
            if (in.remaining() < 8) {
                throw new WeightImportException(file, "ends before storage '" + key + "' (truncated file)");
            }
            long numel = in.order(ByteOrder.LITTLE_ENDIAN).getLong();
            if (numel != s.numel() || s.byteSize() > in.remaining()) {
                throw new WeightImportException(file, "storage '" + key + "' holds " + numel + " values with "
                        + in.remaining() + " bytes left; the pickle says " + s.numel() + " " + s.dtype() + " values");
            }
            s.bytes = new byte[(int) s.byteSize()];
            in.get(s.bytes);
        }
        for (Storage s : u.storages().values()) {
            if (s.bytes == null) {
                throw new WeightImportException(file, "storage '" + s.key() + "' is used but not stored");
            }
        }
        return new Contents(file, Format.PYTORCH_LEGACY, u.tensors(file), Map.of());
    }

    private static Object pickle(Path file, ByteBuffer in, String what) throws WeightImportException {
        try {
            return Pickle.load(in, RESOLVER_WITHOUT_TENSORS);
        } catch (PickleException e) {
            throw new WeightImportException(file, "its " + what + " pickle: " + e.getMessage());
        }
    }

    // --- pickles --------------------------------------------------------------------------------

    /** A storage named by the pickle, and (once read) its bytes. */
    private static final class Storage {
        private final String key;
        private final DType dtype;
        private final long numel;
        byte[] bytes;

        Storage(String key, DType dtype, long numel) {
            this.key = key;
            this.dtype = dtype;
            this.numel = numel;
        }

        String key() {
            return key;
        }

        DType dtype() {
            return dtype;
        }

        long numel() {
            return numel;
        }

        long byteSize() {
            return numel * dtype.bytes();
        }
    }

    /** A tensor as the pickle rebuilds it: a strided view of a storage. */
    private record TensorRef(Storage storage, long offset, long[] size, long[] stride) {
    }

    /** The pickled state_dict: its entries as tensor views, and the storages they view. */
    private record Unpickled(Object root, Map<String, Storage> storages) {
        Map<String, StateTensor> tensors(Path file) throws WeightImportException {
            Map<?, ?> dict = stateDict(file, root);
            Map<String, StateTensor> out = new LinkedHashMap<>();
            Map<Storage, String> users = new HashMap<>();
            for (Map.Entry<?, ?> e : dict.entrySet()) {
                if (!(e.getKey() instanceof String key)) {
                    throw new WeightImportException(file, "has a state_dict key that is not a string: " + e.getKey());
                }
                if (!(e.getValue() instanceof TensorRef ref)) {
                    throw new WeightImportException(file, "entry '" + key + "' is "
                            + (e.getValue() == null ? "None" : "a " + e.getValue().getClass().getSimpleName())
                            + ", not a tensor");
                }
                String other = users.put(ref.storage(), key);
                if (other != null) {
                    throw new WeightImportException(file,
                            "entries '" + other + "' and '" + key + "' are the same storage '"
                            + ref.storage().key() + "'; a DenseNet's weights are each their own (damaged file?)");
                }
                put(file, out, key, materialise(file, key, ref));
            }
            return out;
        }
    }

    /** What a state_dict pickle may name: OrderedDict, torch's tensor-rebuilding functions, storage types. */
    private static final class TorchResolver implements Pickle.Resolver {
        private final boolean allowTensors;
        private final Map<String, Storage> storages = new LinkedHashMap<>();
        private final boolean legacy;

        TorchResolver(boolean allowTensors, boolean legacy) {
            this.allowTensors = allowTensors;
            this.legacy = legacy;
        }

        @Override
        public boolean allowed(Global g) {
            return (g.module().equals("collections") && g.name().equals("OrderedDict"))
                    || (allowTensors && g.module().equals("torch._utils") && REBUILD.contains(g.name()))
                    || (allowTensors && g.module().equals("torch") && DType.ofStorage(g.name()) != null);
        }

        @Override
        public Object call(Global g, List<Object> args) throws PickleException {
            switch (g.name()) {
                case "OrderedDict" -> {
                    if (!args.isEmpty()) {
                        throw new PickleException("OrderedDict called with arguments");
                    }
                    return new LinkedHashMap<>();
                }
                case "_rebuild_tensor", "_rebuild_tensor_v2" -> {
                    if (args.size() < 4 || !(args.get(0) instanceof Storage s)
                            || !(args.get(1) instanceof Long offset)) {
                        throw new PickleException(g + " called with " + args.size() + " arguments that are not "
                                + "(storage, offset, size, stride, ...)");
                    }
                    return new TensorRef(s, offset, longs(args.get(2), "size"), longs(args.get(3), "stride"));
                }
                case "_rebuild_parameter" -> {
                    if (args.isEmpty() || !(args.get(0) instanceof TensorRef t)) {
                        throw new PickleException(g + " called without a tensor");
                    }
                    return t;
                }
                default -> throw new PickleException("the pickle calls '" + g + "'; refused");
            }
        }

        @Override
        public Object persistentLoad(Object pid) throws PickleException {
            if (!(pid instanceof List<?> t) || t.size() != (legacy ? 6 : 5) || !"storage".equals(t.get(0))
                    || !(t.get(1) instanceof Global type) || !(t.get(2) instanceof String key)
                    || !(t.get(4) instanceof Long numel)) {
                throw new PickleException("a persistent id that is not a storage: " + pid);
            }
            if (legacy && t.get(5) != null) {
                throw new PickleException("storage '" + key
                        + "' is a view of another storage, which state_dicts do not have");
            }
            DType dtype = DType.ofStorage(type.name());
            if (dtype == null || numel < 0 || numel > Integer.MAX_VALUE / dtype.bytes()) {
                throw new PickleException("storage '" + key + "' of " + numel + " " + type + " values");
            }
            Storage known = storages.get(key);
            if (known != null && (known.dtype() != dtype || known.numel() != numel)) {
                throw new PickleException("storage '" + key + "' is named twice with different types or sizes");
            }
            return storages.computeIfAbsent(key, k -> new Storage(k, dtype, numel));
        }

        private static long[] longs(Object o, String what) throws PickleException {
            if (!(o instanceof List<?> l) || l.size() > 8) {
                throw new PickleException("a tensor's " + what + " is not a tuple of at most 8 integers: " + o);
            }
            long[] out = new long[l.size()];
            for (int i = 0; i < out.length; i++) {
                if (!(l.get(i) instanceof Long v)) {
                    throw new PickleException("a tensor's " + what + " holds " + l.get(i));
                }
                out[i] = v;
            }
            return out;
        }
    }

    private static final Pickle.Resolver RESOLVER_WITHOUT_TENSORS = new TorchResolver(false, false);

    private static Unpickled unpickle(Path file, ByteBuffer in, boolean legacy) throws WeightImportException {
        TorchResolver resolver = new TorchResolver(true, legacy);
        try {
            Object root = Pickle.load(in, resolver);
            return new Unpickled(root, resolver.storages);
        } catch (PickleException e) {
            throw new WeightImportException(file, "its pickle: " + e.getMessage());
        }
    }

    /** The state_dict itself: the root dict, or the one a checkpoint keeps under "state_dict" or "model". */
    private static Map<?, ?> stateDict(Path file, Object root) throws WeightImportException {
        if (!(root instanceof Map<?, ?> dict)) {
            throw new WeightImportException(file, "holds " + (root == null ? "None" : "a "
                    + root.getClass().getSimpleName()) + ", not a state_dict");
        }
        boolean tensors = dict.values().stream().anyMatch(TensorRef.class::isInstance);
        if (!tensors) {
            for (String wrapper : List.of("state_dict", "model", "model_state_dict")) {
                if (dict.get(wrapper) instanceof Map<?, ?> inner) {
                    return inner;
                }
            }
        }
        return dict;
    }

    /** The values of a tensor view, after checking it lies inside its storage. */
    private static StateTensor materialise(Path file, String key, TensorRef t) throws WeightImportException {
        long[] size = t.size();
        long count = StateTensor.count(size, MAX_TENSOR_VALUES);
        if (count < 0 || size.length != t.stride().length || t.offset() < 0) {
            throw new WeightImportException(file, "entry '" + key + "' claims shape " + java.util.Arrays.toString(size)
                    + " with strides " + java.util.Arrays.toString(t.stride()) + " at offset " + t.offset()
                    + ", which no DenseNet weight has");
        }
        long last = t.offset();
        for (int i = 0; i < size.length; i++) {
            if (t.stride()[i] < 0) {
                throw new WeightImportException(file, "entry '" + key + "' has a negative stride");
            }
            last += (size[i] - 1) * t.stride()[i];
        }
        Storage s = t.storage();
        if (count > 0 && last >= s.numel()) {
            throw new WeightImportException(file, "entry '" + key + "' reads element " + last + " of storage '"
                    + s.key() + "', which has " + s.numel());
        }
        // torch.save writes a state_dict's every tensor as the whole of its own storage, in row-major
        // order: anything else (a stride, an offset) in a weight file is damage that would read the
        // right bytes as the wrong weights.
        long stride = 1;
        for (int i = size.length - 1; i >= 0; i--) {
            if (size[i] > 1 && t.stride()[i] != stride) {
                throw new WeightImportException(file, "entry '" + key + "' has strides " + java.util.Arrays.toString(
                        t.stride()) + " for shape " + java.util.Arrays.toString(size) + ", not the row-major ones a "
                        + "saved weight has (damaged file?)");
            }
            stride *= size[i];
        }
        if (t.offset() != 0 || count != s.numel()) {
            throw new WeightImportException(file, "entry '" + key + "' is " + count + " values at offset " + t.offset()
                    + " of storage '" + s.key() + "' of " + s.numel() + ", not the whole storage a saved weight is "
                    + "(damaged file?)");
        }
        if (!s.dtype().floating()) {
            return new StateTensor(key, s.dtype(), size, null);
        }
        ByteBuffer data = ByteBuffer.wrap(s.bytes).order(ByteOrder.LITTLE_ENDIAN);
        float[] values = new float[(int) count];
        long[] index = new long[size.length];
        for (int i = 0; i < count; i++) {
            long at = t.offset();
            for (int d = 0; d < size.length; d++) {
                at += index[d] * t.stride()[d];
            }
            values[i] = read(data, s.dtype(), (int) at);
            for (int d = size.length - 1; d >= 0 && ++index[d] == size[d]; d--) {
                index[d] = 0;
            }
        }
        return new StateTensor(key, s.dtype(), size, values);
    }

    private static float read(ByteBuffer data, DType dtype, int element) {
        return switch (dtype) {
            case F32 -> data.getFloat(element * 4);
            case F64 -> (float) data.getDouble(element * 8);
            case F16 -> StateTensor.halfToFloat(data.getShort(element * 2) & 0xffff);
            case BF16 -> Float.intBitsToFloat((data.getShort(element * 2) & 0xffff) << 16);
            default -> throw new IllegalArgumentException(dtype + " is not a floating type");
        };
    }

    /** Adds an entry, without DataParallel's "module." prefix; a key given twice is an error. */
    private static void put(Path file, Map<String, StateTensor> out, String key, StateTensor t)
            throws WeightImportException {
        String name = key.startsWith("module.") ? key.substring("module.".length()) : key;
        if (out.put(name, new StateTensor(name, t.dtype(), t.shape(), t.values())) != null) {
            throw new WeightImportException(file, "entry '" + name + "' is stored twice");
        }
    }

    // --- safetensors ----------------------------------------------------------------------------

    private static Contents readSafetensors(Path file) throws IOException {
        ByteBuffer in = map(file).order(ByteOrder.LITTLE_ENDIAN);
        long headerLength = in.getLong();
        if (headerLength < 2 || headerLength > Math.min(in.remaining(), 100L << 20)) {
            throw new WeightImportException(file, "safetensors header of " + headerLength + " bytes in a "
                    + in.capacity() + "-byte file");
        }
        byte[] header = new byte[(int) headerLength];
        in.get(header);
        JsonNode root;
        try {
            root = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION).readTree(header);
        } catch (IOException e) {
            throw new WeightImportException(file, "safetensors header is not JSON (" + e.getMessage().lines()
                    .findFirst().orElse("") + ")");
        }
        if (root == null || !root.isObject()) {
            throw new WeightImportException(file, "safetensors header is not a JSON object");
        }
        ByteBuffer data = in.slice().order(ByteOrder.LITTLE_ENDIAN);
        Map<String, StateTensor> out = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        List<long[]> ranges = new ArrayList<>();
        Map<long[], String> owner = new HashMap<>();
        for (Map.Entry<String, JsonNode> e : (Iterable<Map.Entry<String, JsonNode>>) root::fields) {
            String key = e.getKey();
            JsonNode v = e.getValue();
            if (key.equals("__metadata__")) {
                if (!v.isObject()) {
                    throw new WeightImportException(file, "safetensors '__metadata__' is not an object");
                }
                v.fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                continue;
            }
            DType dtype = v.isObject() && v.path("dtype").isTextual() ? DType.ofSafetensors(v.get("dtype").asText())
                    : null;
            JsonNode shapeNode = v.path("shape");
            JsonNode offsets = v.path("data_offsets");
            if (dtype == null || !shapeNode.isArray() || !offsets.isArray() || offsets.size() != 2
                    || !offsets.get(0).canConvertToLong() || !offsets.get(1).canConvertToLong()) {
                throw new WeightImportException(file, "safetensors entry '" + key + "' is not {dtype, shape, "
                        + "data_offsets} of a known type: " + v);
            }
            long[] shape = new long[shapeNode.size()];
            for (int i = 0; i < shape.length; i++) {
                if (!shapeNode.get(i).canConvertToLong() || shapeNode.get(i).asLong() < 0) {
                    throw new WeightImportException(file, "safetensors entry '" + key + "' has shape " + shapeNode);
                }
                shape[i] = shapeNode.get(i).asLong();
            }
            long begin = offsets.get(0).asLong();
            long end = offsets.get(1).asLong();
            long count = StateTensor.count(shape, MAX_TENSOR_VALUES);
            if (count < 0) {
                throw new WeightImportException(file, "safetensors entry '" + key + "' claims shape " + shapeNode
                        + ", which no DenseNet weight has");
            }
            if (begin < 0 || end < begin || end > data.capacity() || end - begin != count * dtype.bytes()) {
                throw new WeightImportException(file,
                        "safetensors entry '" + key + "' claims bytes " + begin + ".." + end
                        + " of " + data.capacity() + " for " + count + " " + dtype + " values ("
                        + count * dtype.bytes() + " bytes)");
            }
            long[] range = {begin, end};
            ranges.add(range);
            owner.put(range, key);
            float[] values = null;
            if (dtype.floating()) {
                if (begin % dtype.bytes() != 0) {
                    throw new WeightImportException(file, "safetensors entry '" + key + "' starts at byte " + begin
                            + ", not a multiple of its " + dtype.bytes() + "-byte values");
                }
                values = new float[(int) count];
                for (int i = 0; i < count; i++) {
                    values[i] = read(data, dtype, (int) (begin / dtype.bytes()) + i);
                }
            }
            put(file, out, key, new StateTensor(key, dtype, shape, values));
        }
        ranges.sort((a, b) -> Long.compare(a[0], b[0]));
        for (int i = 1; i < ranges.size(); i++) {
            if (ranges.get(i)[0] < ranges.get(i - 1)[1]) {
                throw new WeightImportException(file, "safetensors entries '" + owner.get(ranges.get(i - 1)) + "' and '"
                        + owner.get(ranges.get(i)) + "' claim the same bytes");
            }
        }
        return new Contents(file, Format.SAFETENSORS, Collections.unmodifiableMap(out), metadata);
    }

    private static ByteBuffer map(Path file) throws IOException {
        long size = Files.size(file);
        if (size > Integer.MAX_VALUE) {
            throw new WeightImportException(file, "is " + size + " bytes; no DenseNet weight file is over 2 GiB");
        }
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            return channel.map(FileChannel.MapMode.READ_ONLY, 0, size);
        }
    }
}
