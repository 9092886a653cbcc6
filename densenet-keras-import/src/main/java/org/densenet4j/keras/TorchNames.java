package org.densenet4j.keras;

import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.densenet4j.keras.KerasDenseNetImporter.Role;

/**
 * The mapping from torchvision's (and timm's) DenseNet state_dict names to the zoo's. A table of
 * rules on the module path (the key without its last part), first match wins; in a template,
 * {@code {b+1}} is the block number plus one (torchvision counts dense blocks from 1, the original Keras port's
 * stages from 2), {@code {l}} the layer, {@code {final}} the final stage, whose norm torchvision
 * always calls {@code norm5}.
 *
 * <pre>
 * features.conv0                                  conv1
 * features.norm0                                  conv1_bn
 * features.denseblock{b}.denselayer{l}.norm1      conv{b+1}_{l}_x1_bn
 * features.denseblock{b}.denselayer{l}.conv1      conv{b+1}_{l}_x1
 * features.denseblock{b}.denselayer{l}.norm2      conv{b+1}_{l}_x2_bn
 * features.denseblock{b}.denselayer{l}.conv2      conv{b+1}_{l}_x2
 * features.transition{b}.norm                     conv{b+1}_blk_bn
 * features.transition{b}.conv                     conv{b+1}_blk
 * features.norm5                                  conv{final}_blk_bn
 * classifier                                      fc6
 * </pre>
 *
 * <p>The published checkpoints predate torchvision's current names: their dense layers say
 * {@code norm.1}, {@code conv.1}, {@code norm.2}, {@code conv.2}, read as {@code norm1} ... (what
 * torchvision's own loader does). The parameter names give the roles: a norm's {@code weight},
 * {@code bias}, {@code running_mean}, {@code running_var} are gamma, beta, mean and variance (and
 * {@code num_batches_tracked} is ignored); a convolution's or the classifier's {@code weight} and
 * {@code bias} are its kernel and bias.
 */
final class TorchNames {

    private record Rule(Pattern torch, String zoo) {
        Optional<String> apply(String module, int finalStage) {
            Matcher m = torch.matcher(module);
            if (!m.matches()) {
                return Optional.empty();
            }
            String out = zoo.replace("{final}", Integer.toString(finalStage));
            if (out.contains("{b+1}")) {
                out = out.replace("{b+1}", Integer.toString(Integer.parseInt(m.group("b")) + 1));
            }
            if (out.contains("{l}")) {
                out = out.replace("{l}", Integer.toString(Integer.parseInt(m.group("l"))));
            }
            return Optional.of(out);
        }
    }

    private static final String LAYER = "features\\.denseblock(?<b>\\d+)\\.denselayer(?<l>\\d+)\\.";
    private static final List<Rule> TORCH_TO_ZOO = List.of(
            new Rule(Pattern.compile("features\\.conv0"), "conv1"),
            new Rule(Pattern.compile("features\\.norm0"), "conv1_bn"),
            new Rule(Pattern.compile(LAYER + "norm1"), "conv{b+1}_{l}_x1_bn"),
            new Rule(Pattern.compile(LAYER + "conv1"), "conv{b+1}_{l}_x1"),
            new Rule(Pattern.compile(LAYER + "norm2"), "conv{b+1}_{l}_x2_bn"),
            new Rule(Pattern.compile(LAYER + "conv2"), "conv{b+1}_{l}_x2"),
            new Rule(Pattern.compile("features\\.transition(?<b>\\d+)\\.norm"), "conv{b+1}_blk_bn"),
            new Rule(Pattern.compile("features\\.transition(?<b>\\d+)\\.conv"), "conv{b+1}_blk"),
            new Rule(Pattern.compile("features\\.norm5"), "conv{final}_blk_bn"),
            new Rule(Pattern.compile("classifier"), "fc6"));

    /** The published checkpoints' dense-layer names, {@code norm.1} for {@code norm1}. */
    private static final Pattern LEGACY = Pattern.compile("(.*denselayer\\d+\\.(?:norm|relu|conv))\\.([12])$");
    private static final Pattern DENSE_BLOCK = Pattern.compile("features\\.denseblock(\\d+)\\..*");

    /** The parameter that counts batches: PyTorch's bookkeeping, not a weight. */
    static final String BATCHES_TRACKED = "num_batches_tracked";

    private TorchNames() {
    }

    /** The module path of {@code key} in today's names: {@code features.denseblock1.denselayer1.norm1}. */
    static String module(String key) {
        int dot = key.lastIndexOf('.');
        String module = dot < 0 ? "" : key.substring(0, dot);
        Matcher m = LEGACY.matcher(module);
        return m.matches() ? m.group(1) + m.group(2) : module;
    }

    /** The parameter name of {@code key}: {@code weight}, {@code running_var}, ... */
    static String parameter(String key) {
        return key.substring(key.lastIndexOf('.') + 1);
    }

    /** The zoo name of a torchvision module, or empty when the table has no rule for it. */
    static Optional<String> toZoo(String module, int finalStage) {
        for (Rule rule : TORCH_TO_ZOO) {
            Optional<String> zoo = rule.apply(module, finalStage);
            if (zoo.isPresent()) {
                return zoo;
            }
        }
        return Optional.empty();
    }

    /** What parameter {@code parameter} of the zoo layer {@code zooLayer} is to it, or null. */
    static Role role(String zooLayer, String parameter) {
        boolean norm = zooLayer.endsWith("_bn");
        return switch (parameter) {
            case "weight" -> norm ? Role.GAMMA : Role.KERNEL;
            case "bias" -> norm ? Role.BETA : Role.BIAS;
            case "running_mean" -> norm ? Role.MEAN : null;
            case "running_var" -> norm ? Role.VARIANCE : null;
            default -> null;
        };
    }

    /** The final stage of a torchvision DenseNet: one more than its last dense block. */
    static int finalStage(Iterable<String> modules) {
        int last = 0;
        for (String n : modules) {
            Matcher m = DENSE_BLOCK.matcher(n + ".");
            if (m.matches()) {
                last = Math.max(last, Integer.parseInt(m.group(1)));
            }
        }
        return last + 1;
    }
}
