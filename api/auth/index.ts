// Authentication and authorisation for the HTTP API: see plugin.ts, permissions.ts, key-routes.ts.
export { keyRoutes } from './key-routes.ts';
export { type Action, actions, can, permissions, rolesThatCan } from './permissions.ts';
export {
  type AuthPluginOptions,
  authPlugin,
  defaultPublicPaths,
  type Principal,
  principalOf,
} from './plugin.ts';
