// The built-in suites: the only place their shapes are written down. Tuples read
// (N, C_in, H_in x W_in, C_out, k, stride, padding[, output_padding]); bias follows the network
// the shape comes from where it is known.
//   dcgan     DCGAN generator layers l1..l5 (bias=False as in the reference implementation).
//   networks  one decoder layer from each of several well-known networks.
//   matrix    small problems whose explicit C (about (C_out*H_out*W_out) x (C_in*H_in*W_in)
//             entries) stays under ~1e8, so the explicit-matrix implementations run; covers
//             groups, dilation, depthwise, output_padding, asymmetric h/w, stride > k, bias.
//   sweep_size    spatial size 8..256 doubling, 64 -> 32 channels, k4 s2 p1, N=8.
//   sweep_stride  stride 1..8 at 32x32, k = 2*stride, pad = stride/2, 32 -> 32 channels, N=8.
//   grouped   depthwise and ResNeXt-style grouped layers.
//   smoke     one tiny shape per feature (stride 1, 2, 4; k not a multiple of the stride;
//             dilation; groups; depthwise; output_padding; bias; odd sizes; a 1x1 input): the
//             first GPU check runs every implementation x dtype x layout on it in seconds.
//   modern    layers of current models, checked against each model's own source (cited above
//             each layer): SAM's mask decoder, YOLOv8-seg's Proto, ViTDet's simple feature
//             pyramid, and the 1-D upsamplers of HiFi-GAN, EnCodec and BigVGAN-v2, which run as
//             2-D with H = 1 (k_h = stride_h = dil_h = 1, pad_h = out_pad_h = 0). Bias on, as in
//             those models (PyTorch's default; weight_norm leaves the bias alone). Plus the shape
//             of one public measurement to hold a row against (miopen3952_up, cited above it).
#include "bench/shapes.hpp"

namespace tconv {

namespace {

struct P {
  int64_t n, c_in, h, w, c_out, k, stride, pad, out_pad = 0, dil = 1, groups = 1;
  bool bias = false;
  int64_t k_w = -1, stride_w = -1, pad_w = -1;  // -1: same as the h value
};

Shape make(const std::string& suite, const std::string& name, const P& q) {
  Shape s;
  s.suite = suite;
  s.name = name;
  Problem& p = s.problem;
  p.n = q.n;
  p.c_in = q.c_in;
  p.h_in = q.h;
  p.w_in = q.w;
  p.c_out = q.c_out;
  p.k_h = q.k;
  p.k_w = q.k_w >= 0 ? q.k_w : q.k;
  p.stride_h = q.stride;
  p.stride_w = q.stride_w >= 0 ? q.stride_w : q.stride;
  p.pad_h = q.pad;
  p.pad_w = q.pad_w >= 0 ? q.pad_w : q.pad;
  p.out_pad_h = p.out_pad_w = q.out_pad;
  p.dil_h = p.dil_w = q.dil;
  p.groups = q.groups;
  p.has_bias = q.bias;
  return s;
}

std::vector<Suite> build() {
  std::vector<Suite> suites;

  Suite smoke{"smoke", "one tiny shape per feature: every implementation x dtype x layout in seconds", {}};
  {
    P odd{2, 13, 7, 5, 7, 3, 2, 1};  // odd channels and sizes, k 3x5, stride 2x3
    odd.k_w = 5, odd.stride_w = 3, odd.pad_w = 2, odd.bias = true;
    P groups{2, 16, 9, 9, 24, 3, 2, 1, 1};
    groups.groups = 4;
    P depthwise{2, 16, 9, 9, 16, 4, 2, 1};
    depthwise.groups = 16;
    P dilation{2, 16, 8, 8, 8, 3, 2, 2, 1};
    dilation.dil = 2;
    P bias{2, 16, 8, 8, 8, 4, 2, 1};
    bias.bias = true;
    smoke.shapes = {
        make("smoke", "stride1", {2, 16, 10, 10, 8, 3, 1, 1}),
        make("smoke", "stride2", {2, 16, 8, 8, 8, 4, 2, 1}),
        make("smoke", "stride4", {2, 16, 6, 6, 8, 8, 4, 2}),
        make("smoke", "k3_s2_not_multiple", {2, 16, 8, 8, 8, 3, 2, 1}),
        make("smoke", "dilation2", dilation),
        make("smoke", "groups4", groups),
        make("smoke", "depthwise", depthwise),
        make("smoke", "out_pad2", {2, 16, 7, 7, 8, 4, 3, 1, 2}),
        make("smoke", "bias", bias),
        make("smoke", "odd_sizes", odd),
        make("smoke", "input_1x1", {4, 32, 1, 1, 16, 4, 1, 0}),
    };
  }
  suites.push_back(smoke);

  Suite dcgan{"dcgan", "DCGAN generator, 64x64 output, batch 64", {}};
  dcgan.shapes = {
      make("dcgan", "l1", {64, 100, 1, 1, 512, 4, 1, 0}),
      make("dcgan", "l2", {64, 512, 4, 4, 256, 4, 2, 1}),
      make("dcgan", "l3", {64, 256, 8, 8, 128, 4, 2, 1}),
      make("dcgan", "l4", {64, 128, 16, 16, 64, 4, 2, 1}),
      make("dcgan", "l5", {64, 64, 32, 32, 3, 4, 2, 1}),
  };
  suites.push_back(dcgan);

  Suite nets{"networks", "one decoder layer each from well-known networks", {}};
  auto with_bias = [](P q) {
    q.bias = true;
    return q;
  };
  nets.shapes = {
      make("networks", "pix2pix", {1, 1024, 16, 16, 256, 4, 2, 1}),
      make("networks", "unet", with_bias({1, 1024, 28, 28, 512, 2, 2, 0})),
      make("networks", "cyclegan", with_bias({1, 256, 64, 64, 128, 3, 2, 1, 1})),
      make("networks", "stylegan2", {4, 512, 64, 64, 256, 3, 2, 0}),
      make("networks", "fsrcnn_x4", with_bias({1, 56, 270, 480, 1, 9, 4, 4, 3})),
      make("networks", "fcn8s", {1, 21, 70, 70, 21, 16, 8, 0}),
      make("networks", "fcn32s", {1, 21, 16, 16, 21, 64, 32, 0}),
      make("networks", "maskrcnn_head", with_bias({1000, 2048, 7, 7, 256, 2, 2, 0})),
  };
  suites.push_back(nets);

  Suite matrix{"matrix", "small problems where the explicit C matrix fits", {}};
  P asym{2, 8, 8, 12, 16, 3, 2, 1};
  asym.k_w = 5;
  asym.stride_w = 3;
  asym.pad_w = 2;
  P dilated{4, 16, 12, 12, 16, 3, 1, 2};
  dilated.dil = 2;
  P grouped{4, 32, 8, 8, 32, 4, 2, 1};
  grouped.groups = 4;
  P depthwise{4, 32, 12, 12, 32, 3, 2, 1, 1};
  depthwise.groups = 32;
  matrix.shapes = {
      make("matrix", "tiny_k3s1", {1, 1, 4, 4, 1, 3, 1, 0}),
      make("matrix", "c8_8x8_k3s1", {2, 8, 8, 8, 8, 3, 1, 1}),
      make("matrix", "c16_16x16_k4s2", {4, 16, 16, 16, 16, 4, 2, 1}),
      make("matrix", "c32_8x8_k4s2", {8, 32, 8, 8, 32, 4, 2, 1}),
      make("matrix", "c64_8x8_k3s2_op1", {8, 64, 8, 8, 32, 3, 2, 1, 1}),
      make("matrix", "c64_12x12_k3s1_bias", with_bias({4, 64, 12, 12, 64, 3, 1, 1})),
      make("matrix", "c16_12x12_k2s3", {2, 16, 12, 12, 8, 2, 3, 0}),
      make("matrix", "asym_8x12_k3x5_s2x3", asym),
      make("matrix", "dil2_12x12_k3s1", dilated),
      make("matrix", "g4_8x8_k4s2", grouped),
      make("matrix", "depthwise32_12x12_k3s2", depthwise),
  };
  suites.push_back(matrix);

  Suite sweep_size{"sweep_size", "spatial size 8..256, 64 -> 32 channels, k4 s2 p1, N=8", {}};
  for (int64_t s = 8; s <= 256; s *= 2)
    sweep_size.shapes.push_back(make("sweep_size", "s" + std::to_string(s), {8, 64, s, s, 32, 4, 2, 1}));
  suites.push_back(sweep_size);

  Suite sweep_stride{"sweep_stride", "stride 1..8 at 32x32, k = 2*stride, 32 channels, N=8", {}};
  for (int64_t s = 1; s <= 8; ++s)
    sweep_stride.shapes.push_back(
        make("sweep_stride", "s" + std::to_string(s), {8, 32, 32, 32, 32, 2 * s, s, s / 2}));
  suites.push_back(sweep_stride);

  Suite grouped_suite{"grouped", "depthwise and grouped (ResNeXt-style) layers, N=8", {}};
  P dw3{8, 128, 56, 56, 128, 3, 2, 1, 1};
  dw3.groups = 128;
  P dw4{8, 128, 56, 56, 128, 4, 2, 1};
  dw4.groups = 128;
  P g32{8, 256, 28, 28, 128, 4, 2, 1};
  g32.groups = 32;
  P g8{8, 128, 32, 32, 64, 3, 2, 1, 1};
  g8.groups = 8;
  grouped_suite.shapes = {
      make("grouped", "depthwise128_56x56_k3s2", dw3),
      make("grouped", "depthwise128_56x56_k4s2", dw4),
      make("grouped", "g32_256to128_28x28_k4s2", g32),
      make("grouped", "g8_128to64_32x32_k3s2", g8),
  };
  suites.push_back(grouped_suite);

  Suite modern{"modern", "layers of current segmentation models and neural vocoders (1-D as H = 1)", {}};
  {
    auto with_bias = [](P q) {
      q.bias = true;
      return q;
    };
    // PyTorch's ConvTranspose1d(c_in, c_out, k, stride, padding) on (n, c_in, l), bias on.
    auto conv1d = [](int64_t n, int64_t c_in, int64_t l, int64_t c_out, int64_t k, int64_t stride,
                     int64_t pad) {
      P q{n, c_in, 1, l, c_out, 1, 1, 0};
      q.k_w = k, q.stride_w = stride, q.pad_w = pad, q.bias = true;
      return q;
    };
    auto add = [&](const std::string& name, const P& q) { modern.shapes.push_back(make("modern", name, q)); };

    // Segment Anything, facebookresearch/segment-anything segment_anything/modeling/mask_decoder.py,
    // MaskDecoder.output_upscaling: ConvTranspose2d(transformer_dim, transformer_dim // 4,
    // kernel_size=2, stride=2), then (transformer_dim // 4, transformer_dim // 8); build_sam.py:
    // transformer_dim = prompt_embed_dim = 256 on a 1024 / 16 = 64x64 image embedding. Batch 64:
    // automatic_mask_generator.py SamAutomaticMaskGenerator(points_per_batch=64), one mask per
    // point prompt (predict_masks repeats the embedding per prompt); batch 1: one prompt.
    add("sam_up1_b64", with_bias({64, 256, 64, 64, 64, 2, 2, 0}));
    add("sam_up2_b64", with_bias({64, 64, 128, 128, 32, 2, 2, 0}));
    add("sam_up1_b1", with_bias({1, 256, 64, 64, 64, 2, 2, 0}));
    add("sam_up2_b1", with_bias({1, 64, 128, 128, 32, 2, 2, 0}));

    // YOLOv8-seg, ultralytics/ultralytics ultralytics/nn/modules/block.py, Proto.upsample:
    // ConvTranspose2d(c_, c_, 2, 2, 0, bias=True) on P3 (stride 8: 80x80 for a 640 image).
    // c_ = Segment's npr = 256 from cfg/models/v8/yolov8-seg.yaml, scaled in nn/tasks.py
    // parse_model by make_divisible(min(256, max_channels) * width, 8): x (width 1.25) 320,
    // n (width 0.25) 64.
    add("yolov8x_proto", with_bias({1, 320, 80, 80, 320, 2, 2, 0}));
    add("yolov8n_proto", with_bias({1, 64, 80, 80, 64, 2, 2, 0}));

    // ViTDet-B, facebookresearch/detectron2 detectron2/modeling/backbone/vit.py,
    // SimpleFeaturePyramid, scale 4.0: ConvTranspose2d(dim, dim // 2, 2, 2), LN, GELU,
    // ConvTranspose2d(dim // 2, dim // 4, 2, 2); configs/common/models/mask_rcnn_vitdet.py:
    // dim = embed_dim 768, img_size 1024, patch 16 -> 64x64. The scale 2.0 stage has a second
    // ConvTranspose2d(768, 384, 2, 2) on the same input, the same shape as vitdet_b_up1.
    add("vitdet_b_up1", with_bias({1, 768, 64, 64, 384, 2, 2, 0}));
    add("vitdet_b_up2", with_bias({1, 384, 128, 128, 192, 2, 2, 0}));

    // A public measurement to hold a row against (ROCm/MIOpen issue 3952): ConvTranspose2d(512,
    // 256, kernel_size=3, stride=2, padding=1, output_padding=1) on a 1x512x128x128 bf16 input
    // (bias on, PyTorch's default), reported there at 0.069 ms on an NVIDIA B300 with cuDNN 9.19
    // and PyTorch 2.11, against 1.349 ms on an AMD MI355X; not our measurement, and on another
    // GPU. That FLOP count starts from the output size, 4x our useful count at stride 2
    // (docs/measurement.md: how to convert).
    {
      P q{1, 512, 128, 128, 256, 3, 2, 1};
      q.out_pad = 1;
      add("miopen3952_up", with_bias(q));
    }

    // HiFi-GAN V1, jik876/hifi-gan models.py, Generator.ups[i]:
    // ConvTranspose1d(512 // 2**i, 512 // 2**(i+1), k, u, padding=(k-u)//2) with config_v1.json
    // upsample_rates [8,8,2,2], upsample_kernel_sizes [16,16,4,4], upsample_initial_channel 512.
    // L: one second at 22050 Hz, hop_size 256; meldataset.py mel_spectrogram reflect-pads
    // (n_fft - hop) / 2 = 384 a side with center=False: (22050 + 768 - 1024) // 256 + 1 = 86
    // frames, then each layer's output: 688, 5504, 11008 (22016 samples out).
    add("hifigan_up1", conv1d(1, 512, 86, 256, 16, 8, 4));
    add("hifigan_up2", conv1d(1, 256, 688, 128, 16, 8, 4));
    add("hifigan_up3", conv1d(1, 128, 5504, 64, 4, 2, 1));
    add("hifigan_up4", conv1d(1, 64, 11008, 32, 4, 2, 1));

    // EnCodec 24 kHz, facebookresearch/encodec encodec/modules/seanet.py, SEANetDecoder:
    // SConvTranspose1d(mult * 32, mult * 32 // 2, kernel_size=2 * ratio, stride=ratio) for
    // ratios [8,5,4,2], mult 16, 8, 4, 2; modules/conv.py SConvTranspose1d runs
    // nn.ConvTranspose1d with padding 0 and then trims k - stride samples (model.py
    // encodec_model_24khz is causal, trim_right_ratio 1: all of it from the right end).
    // L: 24000 / (8*5*4*2) = 75 frames a second; after each layer and its trim 600, 3000, 12000.
    add("encodec_up1", conv1d(1, 512, 75, 256, 16, 8, 0));
    add("encodec_up2", conv1d(1, 256, 600, 128, 10, 5, 0));
    add("encodec_up3", conv1d(1, 128, 3000, 64, 8, 4, 0));
    add("encodec_up4", conv1d(1, 64, 12000, 32, 4, 2, 0));

    // BigVGAN-v2 24 kHz 100-band 256x, NVIDIA/BigVGAN bigvgan.py, BigVGAN.ups[i]:
    // ConvTranspose1d(1536 // 2**i, 1536 // 2**(i+1), k, u, padding=(k-u)//2) with
    // configs/bigvgan_v2_24khz_100band_256x.json upsample_rates [4,4,2,2,2,2], kernel sizes
    // [8,8,4,4,4,4], upsample_initial_channel 1536. L: one second at 24000 Hz, hop 256,
    // meldataset.py pads 384 a side, center=False: (24000 + 768 - 1024) // 256 + 1 = 93 frames,
    // then 372, 1488, 2976, 5952, 11904 (23808 samples out).
    add("bigvgan_up1", conv1d(1, 1536, 93, 768, 8, 4, 2));
    add("bigvgan_up2", conv1d(1, 768, 372, 384, 8, 4, 2));
    add("bigvgan_up3", conv1d(1, 384, 1488, 192, 4, 2, 1));
    add("bigvgan_up4", conv1d(1, 192, 2976, 96, 4, 2, 1));
    add("bigvgan_up5", conv1d(1, 96, 5952, 48, 4, 2, 1));
    add("bigvgan_up6", conv1d(1, 48, 11904, 24, 4, 2, 1));
  }
  suites.push_back(modern);
  return suites;
}

}  // namespace

const std::vector<Suite>& builtin_suites() {
  static const std::vector<Suite> suites = build();
  return suites;
}

}  // namespace tconv
