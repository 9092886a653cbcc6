package org.densenet4j.keras;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.densenet4j.torch.OnnxDenseNet;
import org.densenet4j.torch.StateTensor;
import org.densenet4j.torch.TorchStateDict;

import io.jhdf.HdfFile;
import io.jhdf.api.Attribute;
import io.jhdf.api.Dataset;
import io.jhdf.api.Group;
import io.jhdf.api.Node;

/**
 * The weights of a weight file, read whole into memory: the layers in file order, each with its
 * named tensors. From a Keras HDF5 file, the layout Keras 1 and 2 write ({@code layer_names} on the
 * root or on {@code model_weights}, {@code weight_names} on each layer group) and nothing else; from
 * a PyTorch state_dict ({@link TorchStateDict}: {@code .pth}, {@code .pt}, {@code .safetensors}),
 * one layer per module ({@code features.denseblock1.denselayer1.norm1}) with its parameters
 * ({@code weight}, {@code running_var}, ...).
 *
 * <p>Reading is defensive: the file is parsed by jHDF, a pure-Java reader, so a malformed file
 * raises an exception instead of taking the JVM down in native code; jHDF reads a read-only mapping
 * of the file, so a structure that claims more bytes than the file holds fails at once instead of
 * allocating what it claims; every dataset's claimed size is checked against the file's before
 * anything is allocated; non-float data is rejected.
 */
public final class WeightFile {

    /** The largest tensor accepted (DenseNet's largest, 264's fc6, has 2.7 million values). */
    static final long MAX_TENSOR_VALUES = 1L << 26;

    /** One stored weight array, row-major ('c' order) as HDF5 stores it. */
    public record Tensor(String name, long[] shape, float[] data) {
        /** Shape as text, e.g. {@code (3, 3, 128, 32)}. */
        public String shapeText() {
            return shapeText(shape);
        }

        static String shapeText(long[] shape) {
            StringBuilder sb = new StringBuilder("(");
            for (int i = 0; i < shape.length; i++) {
                sb.append(i == 0 ? "" : ", ").append(shape[i]);
            }
            return sb.append(shape.length == 1 ? ",)" : ")").toString();
        }
    }

    /** One layer of the file with its tensors, in the order of its {@code weight_names}. */
    public record Layer(String name, List<Tensor> weights) {
    }

    private final Path file;
    private final boolean fullModel;
    private final Map<String, Layer> layers;
    private final TorchStateDict.Format stateDictFormat;
    private final double bnEpsilon;
    private final Map<String, String> metadata;

    private WeightFile(Path file, boolean fullModel, Map<String, Layer> layers, TorchStateDict.Format stateDictFormat) {
        this(file, fullModel, layers, stateDictFormat, Double.NaN, Map.of());
    }

    private WeightFile(Path file, boolean fullModel, Map<String, Layer> layers, TorchStateDict.Format stateDictFormat,
                       double bnEpsilon, Map<String, String> metadata) {
        this.file = file;
        this.fullModel = fullModel;
        this.layers = Collections.unmodifiableMap(layers);
        this.stateDictFormat = stateDictFormat;
        this.bnEpsilon = bnEpsilon;
        this.metadata = metadata;
    }

    /** The batch norms' epsilon when the file records it (an ONNX graph does), else NaN: the layout's. */
    public double bnEpsilon() {
        return bnEpsilon;
    }

    /** What the file says about itself (an ONNX model's metadata_props), else empty. */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** The container: "HDF5", or the PyTorch format the state_dict was read from. */
    public String format() {
        return stateDictFormat == null ? "HDF5" : stateDictFormat.toString();
    }

    /** Whether the weights came from a PyTorch state_dict (torchvision's or timm's names). */
    public boolean stateDict() {
        return stateDictFormat != null;
    }

    /**
     * Reads a weight file of any kind the importer knows: a PyTorch state_dict when its first bytes
     * say so ({@link TorchStateDict#sniff}), an ONNX model when its name ends in {@code .onnx} or it
     * starts as ONNX files do (field 1, the IR version; {@link OnnxDenseNet}), else a Keras HDF5 file.
     *
     * @throws WeightImportException if the file is missing, unreadable, of no known kind, or damaged
     */
    public static WeightFile readAny(Path file) throws WeightImportException {
        try {
            if (Files.isRegularFile(file) && TorchStateDict.sniff(file) != null) {
                return of(TorchStateDict.read(file));
            }
            if (Files.isRegularFile(file) && isOnnx(file)) {
                OnnxDenseNet.Weights onnx = OnnxDenseNet.read(file);
                WeightFile w = of(onnx.contents());
                return new WeightFile(file, false, w.layers, TorchStateDict.Format.ONNX, onnx.bnEpsilon(),
                        onnx.contents().metadata());
            }
        } catch (WeightImportException e) {
            throw e;
        } catch (IOException e) {
            throw new WeightImportException(file, "cannot read: " + e.getMessage(), e);
        }
        return read(file);
    }

    private static boolean isOnnx(Path file) throws IOException {
        if (file.getFileName().toString().toLowerCase(java.util.Locale.ROOT).endsWith(".onnx")) {
            return true;
        }
        try (java.io.InputStream in = Files.newInputStream(file)) {
            return in.read() == 0x08; // ModelProto's ir_version, field 1 as a varint; HDF5 starts 0x89
        }
    }

    /**
     * A state_dict's entries as layers: one per module, in file order, each parameter a tensor. The
     * batch counters ({@code num_batches_tracked}) are dropped; any other entry that is not floating
     * point is refused by name.
     */
    static WeightFile of(TorchStateDict.Contents contents) throws WeightImportException {
        Map<String, List<Tensor>> byModule = new LinkedHashMap<>();
        for (StateTensor t : contents.tensors().values()) {
            String parameter = TorchNames.parameter(t.key());
            if (!t.dtype().floating()) {
                if (parameter.equals(TorchNames.BATCHES_TRACKED)) {
                    continue;
                }
                throw new WeightImportException(contents.file(), "entry '" + t.key() + "' holds " + t.dtype()
                        + " values; weights are floating point (float32; float16, bfloat16 and float64 are converted)");
            }
            List<Tensor> tensors = byModule.computeIfAbsent(TorchNames.module(t.key()), m -> new ArrayList<>());
            if (tensors.stream().anyMatch(x -> x.name().equals(parameter))) {
                throw new WeightImportException(contents.file(), "entry '" + t.key() + "' is stored twice (under "
                        + "today's and the legacy name)");
            }
            tensors.add(new Tensor(parameter, t.shape(), t.values()));
        }
        Map<String, Layer> layers = new LinkedHashMap<>();
        byModule.forEach((module, tensors) -> layers.put(module, new Layer(module, List.copyOf(tensors))));
        return new WeightFile(contents.file(), false, layers, contents.format());
    }

    /** The file this was read from. */
    public Path file() {
        return file;
    }

    /** Whether the weights came from a full-model file (under {@code model_weights}). */
    public boolean fullModel() {
        return fullModel;
    }

    /** Every layer the file lists, weightless ones included, in file order. */
    public Map<String, Layer> layers() {
        return layers;
    }

    /** The layers that hold weights, in file order. */
    public List<Layer> weightLayers() {
        return layers.values().stream().filter(l -> !l.weights().isEmpty()).toList();
    }

    /**
     * Reads every weight of a Keras HDF5 file.
     *
     * @throws WeightImportException if the file is missing, unreadable, not a Keras weight file, or damaged
     */
    public static WeightFile read(Path file) throws WeightImportException {
        if (!Files.isRegularFile(file)) {
            throw new WeightImportException(file, "no such file");
        }
        long fileSize;
        try {
            fileSize = Files.size(file);
        } catch (IOException e) {
            throw new WeightImportException(file, "cannot read: " + e.getMessage(), e);
        }
        try (HdfFile hdf = open(file, fileSize)) {
            Group root = hdf;
            boolean fullModel = false;
            if (root.getChild("model_weights") instanceof Group weights) {
                root = weights;
                fullModel = true;
            }
            String[] layerNames = strings(file, root, "layer_names");
            if (layerNames == null) {
                throw new WeightImportException(file, "not a Keras weight file: no 'layer_names' attribute on "
                        + (fullModel ? "/model_weights" : "the root group"));
            }
            Map<String, Layer> layers = new LinkedHashMap<>();
            Extents extents = new Extents(file, fileSize);
            for (String name : layerNames) {
                if (layers.containsKey(name)) {
                    throw WeightImportException.atLayer(file, name, "listed twice in 'layer_names'");
                }
                layers.put(name, readLayer(file, fileSize, root, name, extents));
            }
            extents.check();
            return new WeightFile(file, fullModel, layers, null);
        } catch (WeightImportException e) {
            throw e;
        } catch (RuntimeException | StackOverflowError e) {
            throw new WeightImportException(file, "not a readable HDF5 weight file (" + describe(e) + ")", e);
        } catch (InternalError e) {
            // A mapped file shortened while it is read faults inside the mapping.
            throw new WeightImportException(file, "changed while it was read (" + describe(e) + ")", e);
        }
    }

    /**
     * The file as jHDF sees it: a read-only mapping, not jHDF's own file channel. Through the channel
     * jHDF allocates (and the JDK zeroes) a buffer of whatever length an object header claims before
     * it reads a byte: a damaged header size of 0x0b484949 once held a thread for over ten seconds on a
     * 140 KB file. Against a mapping, a read past the end fails at once.
     */
    private static HdfFile open(Path file, long fileSize) throws WeightImportException {
        if (fileSize > Integer.MAX_VALUE) {
            throw new WeightImportException(file, "is " + fileSize + " bytes; no DenseNet weight file is over 2 GiB");
        }
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            return HdfFile.fromByteBuffer(channel.map(FileChannel.MapMode.READ_ONLY, 0, fileSize));
        } catch (IOException e) {
            throw new WeightImportException(file, "cannot read: " + e.getMessage(), e);
        }
    }

    private static Layer readLayer(Path file, long fileSize, Group root, String name, Extents extents)
            throws WeightImportException {
        Node node = child(root, name);
        if (!(node instanceof Group group)) {
            throw WeightImportException.atLayer(file, name, "listed in 'layer_names' but the file has no group for it");
        }
        extents.header(group);
        String[] weightNames = strings(file, group, "weight_names");
        if (weightNames == null || weightNames.length == 0) {
            return new Layer(name, List.of());
        }
        List<Tensor> tensors = new ArrayList<>();
        for (String weightName : weightNames) {
            if (!(child(group, weightName) instanceof Dataset dataset)) {
                throw WeightImportException.atLayer(file, name, "weight '" + weightName + "' is listed but not stored");
            }
            extents.header(dataset);
            extents.data(name + "/" + weightName, dataset);
            tensors.add(readTensor(file, fileSize, name, weightName, dataset));
        }
        return new Layer(name, List.copyOf(tensors));
    }

    private static Tensor readTensor(Path file, long fileSize, String layer, String weightName, Dataset dataset)
            throws WeightImportException {
        Class<?> type = dataset.getJavaType();
        if (type != float.class && type != double.class) {
            throw WeightImportException.atLayer(file, layer, "weight '" + weightName
                    + "' holds " + type.getSimpleName() + " values, expected float32 or float64");
        }
        if (!(dataset.getDataType() instanceof io.jhdf.object.datatype.FloatingPoint fp) || !isIeeeLittleEndian(fp)) {
            throw WeightImportException.atLayer(file, layer, "weight '" + weightName + "' is not stored as "
                    + "little-endian IEEE float32 or float64, as Keras writes weights (damaged file?)");
        }
        long[] shape = dataset.getDimensionsAsLong();
        long values = 1;
        for (long d : shape) {
            if (d <= 0 || d > MAX_TENSOR_VALUES || (values *= d) > MAX_TENSOR_VALUES) {
                throw WeightImportException.atLayer(file, layer, "weight '" + weightName + "' claims shape "
                        + Arrays.toString(shape) + ", which no DenseNet weight has");
            }
        }
        if (shape.length == 0) {
            throw WeightImportException.atLayer(file, layer,
                    "weight '" + weightName + "' is a scalar, expected an array");
        }
        long bytes = values * (type == float.class ? 4 : 8);
        if (dataset.getFilters().isEmpty() && bytes > fileSize) {
            throw WeightImportException.atLayer(file, layer, "weight '" + weightName + "' claims " + bytes
                    + " bytes but the file has only " + fileSize + " (truncated or damaged file)");
        }
        Object flat = dataset.getDataFlat();
        float[] data;
        if (flat instanceof float[] f) {
            data = f;
        } else if (flat instanceof double[] d) {
            data = new float[d.length];
            for (int i = 0; i < d.length; i++) {
                data[i] = (float) d[i];
            }
        } else {
            throw WeightImportException.atLayer(file, layer,
                    "weight '" + weightName + "' could not be read as numbers");
        }
        if (data.length != values) {
            throw WeightImportException.atLayer(file, layer, "weight '" + weightName + "' holds " + data.length
                    + " values for shape " + Tensor.shapeText(shape));
        }
        return new Tensor(weightName, shape, data);
    }

    /**
     * Whether a float type is the IEEE 754 binary32 or binary64 layout in little-endian order, the
     * only one Keras writes: a damaged type message (a flipped byte-order bit, say) would otherwise
     * read every value of a weight as another number.
     */
    private static boolean isIeeeLittleEndian(io.jhdf.object.datatype.FloatingPoint fp) {
        boolean binary32 = fp.getSize() == 4 && fp.getBitPrecision() == 32 && fp.getExponentLocation() == 23
                && fp.getExponentSize() == 8 && fp.getMantissaSize() == 23 && fp.getExponentBias() == 127;
        boolean binary64 = fp.getSize() == 8 && fp.getBitPrecision() == 64 && fp.getExponentLocation() == 52
                && fp.getExponentSize() == 11 && fp.getMantissaSize() == 52 && fp.getExponentBias() == 1023;
        return (binary32 || binary64) && fp.getBitOffset() == 0 && fp.getMantissaLocation() == 0
                && fp.getSignLocation() == fp.getBitPrecision() - 1
                && fp.getByteOrder() == java.nio.ByteOrder.LITTLE_ENDIAN;
    }

    /**
     * Where the weights' bytes lie in the file. HDF5 keeps no checksum of contiguous data, so a
     * damaged data address would read other bytes as weights; in a sound file every dataset's data
     * has bytes of its own, inside the file and clear of the object headers, and that is checked.
     */
    private static final class Extents {
        private record Range(String name, long start, long end) {
        }

        private final Path file;
        private final long fileSize;
        private final List<Range> data = new ArrayList<>();
        private final List<Long> headers = new ArrayList<>();

        Extents(Path file, long fileSize) {
            this.file = file;
            this.fileSize = fileSize;
        }

        void header(Node node) {
            headers.add(node.getAddress());
        }

        void data(String name, Dataset dataset) throws WeightImportException {
            if (dataset instanceof io.jhdf.api.dataset.ContiguousDataset contiguous && !dataset.isEmpty()) {
                long start = contiguous.getDataAddress();
                long end = start + dataset.getSizeInBytes();
                if (start < 0 || end > fileSize || end < start) {
                    throw new WeightImportException(file, "weight '" + name + "' claims bytes " + start + ".." + end
                            + " of a " + fileSize + "-byte file (truncated or damaged file)");
                }
                data.add(new Range(name, start, end));
            }
        }

        void check() throws WeightImportException {
            data.sort(java.util.Comparator.comparingLong(Range::start));
            for (int i = 1; i < data.size(); i++) {
                if (data.get(i).start() < data.get(i - 1).end()) {
                    throw new WeightImportException(file, "weights '" + data.get(i - 1).name() + "' and '"
                            + data.get(i).name() + "' claim the same bytes of the file (damaged file)");
                }
            }
            for (long h : headers) {
                for (Range r : data) {
                    if (h >= r.start() && h < r.end()) {
                        throw new WeightImportException(file, "weight '" + r.name()
                                + "' claims bytes that hold the file's structure (damaged file)");
                    }
                }
            }
        }
    }

    /** A child by name; Keras 2 names such as {@code conv1/conv} are paths of nested groups. */
    private static Node child(Group group, String name) {
        try {
            return name.contains("/") ? group.getByPath(name) : group.getChild(name);
        } catch (RuntimeException e) {
            return null; // jHDF reports a missing path by throwing
        }
    }

    /** A string-array attribute (Keras stores fixed-length byte strings), or null when absent or empty. */
    private static String[] strings(Path file, Node node, String attribute) throws WeightImportException {
        Attribute attr = node.getAttribute(attribute);
        if (attr == null || attr.isEmpty()) {
            return null;
        }
        Object data = attr.getData();
        if (data instanceof String[] s) {
            return s;
        }
        if (data instanceof String s) {
            return new String[] {s};
        }
        throw new WeightImportException(file, "attribute '" + attribute + "' of " + node.getPath()
                + " is not a list of strings");
    }

    private static String describe(Throwable e) {
        String msg = e.getMessage();
        return e.getClass().getSimpleName() + (msg == null ? "" : ": " + msg);
    }
}
