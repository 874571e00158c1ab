// The built-in skills wired into one SkillPort: http_call, llm_invoke, json_transform, and the
// child-run steps agent_invoke and agent_spawn (described here, run by the decider).
import { childRunDescriptors } from './child-runs.ts';
import { createHttpCallSkill, type HttpCallOptions } from './http-call.ts';
import { createJsonTransformDescriptor } from './json-transform.ts';
import { createLlmInvokeSkill, type LlmInvokeOptions, type LlmProviderOptions } from './llm-invoke.ts';
import {
  type AnySkillDescriptor,
  createSkillRegistry,
  type SkillRegistry,
  type SkillRegistryOptions,
} from './registry.ts';

export interface DefaultSkillPortOptions extends SkillRegistryOptions {
  /** http_call's address guard, size cap and user agent. */
  http?: Omit<HttpCallOptions, 'allowHosts'>;
  /** Hosts or IPs http_call may reach although they are local (matched against the URL's host). */
  allowHosts?: readonly string[];
  /** The OpenAI-compatible provider for llm_invoke models other than `stub`. */
  llm?: LlmProviderOptions;
  /** More descriptors (other skills, or other versions of the built-ins). */
  extraSkills?: readonly AnySkillDescriptor[];
}

export interface DefaultSkillPort extends SkillRegistry {
  /** Closes the connection pools of http_call and the LLM adapter. */
  close(): Promise<void>;
}

export function createDefaultSkillPort(options: DefaultSkillPortOptions = {}): DefaultSkillPort {
  const http = createHttpCallSkill({ ...options.http, allowHosts: options.allowHosts ?? [] });
  const llmOptions: LlmInvokeOptions = options.llm ? { llm: options.llm } : {};
  const llm = createLlmInvokeSkill(llmOptions);
  const registryOptions: SkillRegistryOptions = {};
  if (options.now) registryOptions.now = options.now;
  if (options.onInternalError) registryOptions.onInternalError = options.onInternalError;
  const registry = createSkillRegistry(
    [
      http.descriptor,
      llm.descriptor,
      createJsonTransformDescriptor(),
      ...childRunDescriptors(),
      ...(options.extraSkills ?? []),
    ],
    registryOptions,
  );
  return {
    ...registry,
    async close() {
      await Promise.all([http.close(), llm.close()]);
    },
  };
}

export {
  createAddressGuard,
  ForbiddenAddressError,
  forbiddenAddressReason,
  metadataHostnames,
  normaliseHost,
} from './address-guard.ts';
export {
  createHttpCallSkill,
  type HttpCallInput,
  type HttpCallOptions,
  type HttpCallOutput,
} from './http-call.ts';
export { DEFAULT_MAX_RESPONSE_BYTES, parseRetryAfter } from './http-support.ts';
export {
  createJsonTransformDescriptor,
  type JsonTransformInput,
  type JsonTransformOutput,
} from './json-transform.ts';
export {
  createLlmInvokeSkill,
  type LlmInvokeInput,
  type LlmInvokeOptions,
  type LlmInvokeOutput,
  type LlmProviderOptions,
  usageFromProvider,
} from './llm-invoke.ts';
export { STUB_MODEL, stubAnswer } from './llm-stub.ts';
export {
  type AnySkillDescriptor,
  createSkillRegistry,
  failure,
  type SkillContext,
  type SkillDescriptor,
  type SkillFailure,
  type SkillRegistry,
  type SkillRegistryOptions,
  type SkillResult,
} from './registry.ts';
