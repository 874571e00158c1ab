export declare const digestFile: string;
export declare function buildSourcesDigest(root: string): string;
