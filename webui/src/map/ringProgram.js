// A sigma node program: sigma's own disc (NodeCircleProgram, same geometry and picking) plus an optional outer
// ring (node attribute `ringColor`: unauthorized devices, groups holding some) and an optional centre dot
// (`dotColor`: new devices, groups holding some). One draw call for every node, whatever it is marked with.
import { NodeProgram } from 'sigma/rendering';
import { floatColor } from 'sigma/utils';

const VERTEX = /* glsl */ `
attribute vec4 a_id;
attribute vec4 a_color;
attribute vec4 a_ring;
attribute vec4 a_dot;
attribute vec2 a_position;
attribute float a_size;
attribute float a_angle;

uniform mat3 u_matrix;
uniform float u_sizeRatio;
uniform float u_correctionRatio;

varying vec4 v_color;
varying vec4 v_ring;
varying vec4 v_dot;
varying vec2 v_diffVector;
varying float v_radius;

const float bias = 255.0 / 254.0;

void main() {
  float size = a_size * u_correctionRatio / u_sizeRatio * 4.0;
  vec2 diffVector = size * vec2(cos(a_angle), sin(a_angle));
  vec2 position = a_position + diffVector;
  gl_Position = vec4((u_matrix * vec3(position, 1)).xy, 0, 1);
  v_diffVector = diffVector;
  v_radius = size / 2.0;
  #ifdef PICKING_MODE
  v_color = a_id;
  #else
  v_color = a_color;
  #endif
  v_color.a *= bias;
  v_ring = a_ring;
  v_dot = a_dot;
}
`;

const FRAGMENT = /* glsl */ `
precision highp float;

varying vec4 v_color;
varying vec4 v_ring;
varying vec4 v_dot;
varying vec2 v_diffVector;
varying float v_radius;

uniform float u_correctionRatio;

const vec4 transparent = vec4(0.0, 0.0, 0.0, 0.0);

void main(void) {
  float border = u_correctionRatio * 2.0;
  float len = length(v_diffVector);
  float dist = len - v_radius + border;
  #ifdef PICKING_MODE
  if (dist > border)
    gl_FragColor = transparent;
  else
    gl_FragColor = v_color;
  #else
  vec4 c = v_color;
  float ring = max(v_radius * 0.2, border * 1.2);
  if (v_ring.a > 0.0 && len > v_radius - ring)
    c = v_ring;
  else if (v_dot.a > 0.0 && len < v_radius * 0.3)
    c = v_dot;
  float t = 0.0;
  if (dist > border)
    t = 1.0;
  else if (dist > 0.0)
    t = dist / border;
  gl_FragColor = mix(c, transparent, t);
  #endif
}
`;

const { UNSIGNED_BYTE, FLOAT } = WebGLRenderingContext;
const NONE = floatColor('rgba(0,0,0,0)');

export class NodeRingProgram extends NodeProgram {
  getDefinition() {
    return {
      VERTICES: 3,
      VERTEX_SHADER_SOURCE: VERTEX,
      FRAGMENT_SHADER_SOURCE: FRAGMENT,
      METHOD: WebGLRenderingContext.TRIANGLES,
      UNIFORMS: ['u_sizeRatio', 'u_correctionRatio', 'u_matrix'],
      ATTRIBUTES: [
        { name: 'a_position', size: 2, type: FLOAT },
        { name: 'a_size', size: 1, type: FLOAT },
        { name: 'a_color', size: 4, type: UNSIGNED_BYTE, normalized: true },
        { name: 'a_ring', size: 4, type: UNSIGNED_BYTE, normalized: true },
        { name: 'a_dot', size: 4, type: UNSIGNED_BYTE, normalized: true },
        { name: 'a_id', size: 4, type: UNSIGNED_BYTE, normalized: true },
      ],
      CONSTANT_ATTRIBUTES: [{ name: 'a_angle', size: 1, type: FLOAT }],
      CONSTANT_DATA: [[0], [(2 * Math.PI) / 3], [(4 * Math.PI) / 3]],
    };
  }

  processVisibleItem(nodeIndex, startIndex, data) {
    const a = this.array;
    a[startIndex++] = data.x;
    a[startIndex++] = data.y;
    a[startIndex++] = data.size;
    a[startIndex++] = floatColor(data.color);
    a[startIndex++] = data.ringColor ? floatColor(data.ringColor) : NONE;
    a[startIndex++] = data.dotColor ? floatColor(data.dotColor) : NONE;
    a[startIndex++] = nodeIndex;
  }

  setUniforms(params, { gl, uniformLocations }) {
    gl.uniform1f(uniformLocations.u_correctionRatio, params.correctionRatio);
    gl.uniform1f(uniformLocations.u_sizeRatio, params.sizeRatio);
    gl.uniformMatrix3fv(uniformLocations.u_matrix, false, params.matrix);
  }
}
